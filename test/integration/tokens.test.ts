// A revoked token is refused within 1 s and its sessions close; token expiry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import WebSocket from 'ws';
import { createWorld, run, type World } from './harness.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { profileSchema, type Profile } from '../../src/node/profile.js';

const load = (file: string): Profile => profileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));

async function heldSession(
  profileFile: string,
  device: string,
): Promise<{ client: ConsoleClient; closed: Promise<{ at: number; reason: string }> }> {
  const client = await ConsoleClient.connect(load(profileFile));
  const s = await client.openSession(device);
  const closed = new Promise<{ at: number; reason: string }>((resolve) => {
    client.on('sessionClosed', (id, reason) => {
      if (id === s.id) resolve({ at: Date.now(), reason });
    });
  });
  return { client, closed };
}

describe('users and tokens', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('theta');
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('revoking offline (lr-server user revoke) ends the open session within 1 s; the token is then refused', async () => {
    const profile = await w.addUser('rita', 'basic');
    expect((await w.lr(['devices'], profile)).code).toBe(0);
    const { client, closed } = await heldSession(profile, 'theta');
    try {
      const r = await run('lr-server', ['user', 'revoke', 'rita', '--data', w.dataDir]);
      const revokedAt = Date.now();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/1 token of rita revoked/);
      const c = await Promise.race([closed, new Promise<null>((res) => setTimeout(() => res(null), 1500))]);
      expect(c, 'session.closed within 1 s').not.toBeNull();
      expect(c!.at - revokedAt).toBeLessThan(1000);
      expect(c!.reason).toMatch(/revoked/);
      const rest = await w.lr(['devices'], profile);
      expect(rest.code).not.toBe(0);
      expect(rest.stderr).toMatch(/not authenticated/);
    } finally {
      client.close();
    }
    // A new token brings the user back.
    const fresh = join(w.dir, 'rita2.profile.json');
    expect((await run('lr-server', ['user', 'token', 'rita', '--data', w.dataDir, '--out', fresh])).code).toBe(0);
    expect((await w.lr(['devices'], fresh)).code).toBe(0);
  });

  it('revoking through the REST API (admin) acts at once', async () => {
    const profile = await w.addUser('ravi', 'advanced');
    const { client, closed } = await heldSession(profile, 'theta');
    try {
      const t0 = Date.now();
      const r = await w.lr(['users', 'revoke', 'ravi']);
      expect(r.code, r.stderr).toBe(0);
      const c = await Promise.race([closed, new Promise<null>((res) => setTimeout(() => res(null), 1500))]);
      expect(c).not.toBeNull();
      expect(c!.at - t0).toBeLessThan(1500); // includes starting the lr process
      expect((await w.lr(['devices'], profile)).code).not.toBe(0);
    } finally {
      client.close();
    }
    const list = JSON.parse((await w.lr(['users', 'list', '--json'])).stdout) as {
      name: string;
      activeTokens: number;
      revokedTokens: number;
    }[];
    expect(list.find((u) => u.name === 'ravi')).toMatchObject({ activeTokens: 0, revokedTokens: 1 });
    // Only admins list or revoke.
    const other = await w.addUser('vera', 'advanced');
    const denied = await w.lr(['users', 'revoke', 'admin'], other);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/needs the admin role/);
  });

  it('honours token expiry (--ttl), for REST and for open consoles', async () => {
    await w.addUser('tess', 'basic');
    const shortLived = join(w.dir, 'tess-short.profile.json');
    const r = await run('lr-server', [
      'user',
      'token',
      'tess',
      '--data',
      w.dataDir,
      '--out',
      shortLived,
      '--ttl',
      '3s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/valid until/);
    const { client, closed } = await heldSession(shortLived, 'theta');
    try {
      const c = await Promise.race([closed, new Promise<null>((res) => setTimeout(() => res(null), 6000))]);
      expect(c).not.toBeNull();
      expect(c!.reason).toMatch(/expired/);
    } finally {
      client.close();
    }
    expect((await w.lr(['devices'], shortLived)).code).not.toBe(0);
    const users = JSON.parse((await run('lr-server', ['user', 'list', '--data', w.dataDir, '--json'])).stdout) as {
      name: string;
    }[];
    expect(users.map((u) => u.name)).toEqual(expect.arrayContaining(['admin', 'rita', 'ravi', 'tess']));
  });

  // Last: it locks this address out for a while.
  it('rate-limits failed authentications per address (REST and console upgrade)', async () => {
    const ca = load(w.adminProfile).ca;
    const get = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `https://127.0.0.1:${w.port}/api/v1/devices`,
          { ca, headers: { authorization: `Bearer ${token}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push(await get(`lr_${'a'.repeat(12)}_${'b'.repeat(43)}`));
    expect(statuses.slice(0, 15).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    const upgrade = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`wss://127.0.0.1:${w.port}/api/v1/console`, {
        ca,
        headers: { authorization: 'Bearer nope' },
      });
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('open', () => resolve('open'));
      ws.on('error', (e) => resolve(e.message));
    });
    expect(upgrade).toBe('429');
  });
});
