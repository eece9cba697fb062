// Init, start, enroll: the device is online; stop the agent: offline within 10 s;
// restart the service: the agent is back online within 10 s by itself.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, start, stop, waitFor, BIN, type World } from './harness.js';

describe('service and agent lifecycle', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('lists an enrolled agent online, offline when stopped, online again after a service restart', async () => {
    const a = await w.addAgent('alpha');
    const listed = (await w.devices()).find((d) => d.id === a.deviceId);
    expect(listed).toMatchObject({ name: 'alpha', online: true });

    // Stop the agent: offline within 10 s.
    let t0 = Date.now();
    await stop(a.process);
    await waitFor(
      'alpha offline',
      async () => (await w.devices()).find((d) => d.id === a.deviceId && !d.online),
      10_000,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);

    // Start it again, then restart the service: the agent reconnects by itself.
    const again = await start('lr-agent', ['start', '--data', a.dataDir], /started/);
    w.agents.push(again);
    await waitFor('alpha online', async () => (await w.devices()).find((d) => d.id === a.deviceId && d.online), 10_000);
    await w.stopServer();
    await w.startServer();
    t0 = Date.now();
    await waitFor(
      'alpha back online after restart',
      async () => (await w.devices()).find((d) => d.id === a.deviceId && d.online),
      10_000,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(BIN('lr')).toContain('out/bin');
  });

  it('refuses a reused enrollment token and an unknown profile token', async () => {
    const bundle = `${w.dir}/once.bundle.json`;
    expect((await w.lr(['devices'])).code).toBe(0);
    const { run } = await import('./harness.js');
    await run('lr-server', ['enroll-token', '--data', w.dataDir, '--out', bundle]);
    const first = await run('lr-agent', ['enroll', '--bundle', bundle, '--data', `${w.dir}/a1`]);
    expect(first.code).toBe(0);
    const second = await run('lr-agent', ['enroll', '--bundle', bundle, '--data', `${w.dir}/a2`]);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/already used/);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);

    // The admin's profile with well-formed tokens the service never issued (lr_<id>_<secret>): an unknown
    // id, and the admin token's id with another secret.
    const admin = JSON.parse(readFileSync(w.adminProfile, 'utf8')) as { token: string };
    const [, id, secret] = /^lr_([0-9a-z]{12})_([A-Za-z0-9_-]{43})$/.exec(admin.token) ?? [];
    expect(id && secret).toBeTruthy();
    const otherId = randomBytes(12).toString('hex').slice(0, 12);
    const otherSecret = randomBytes(32).toString('base64url');
    for (const unknown of [`lr_${otherId}_${secret}`, `lr_${id}_${otherSecret}`]) {
      const forged = `${w.dir}/unknown.profile.json`;
      writeFileSync(forged, JSON.stringify({ ...admin, token: unknown }), { mode: 0o600 });
      const refused = await w.lr(['devices'], forged);
      expect(refused.code, unknown).not.toBe(0);
      expect(refused.stdout).toBe('');
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/token/i);
    }
    expect((await w.lr(['devices'])).code).toBe(0);
  });
});
