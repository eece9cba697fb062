// The script library — upload with description and parameters, list, overwrite rules,
// the 250 MB limit enforced while streaming (nothing left on the service's disk), name rules, and who
// may manage it; plus the admin-only publishers and settings routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import { createWorld, stop, waitFor, type World } from './harness.js';
import { agentAuthPayload, agentFileProofPayload } from '../../src/shared/wire/protocol.js';
import { loadProfile, rawRequest } from './library-helpers.js';

type Rec = Record<string, unknown>;
const MB = 1024 * 1024;

describe('script library', () => {
  let w: World;
  let files: string;
  let manager: string;
  let advanced: string;
  let basic: string;
  beforeAll(async () => {
    w = await createWorld();
    files = mkdtempSync(join(tmpdir(), 'lr-lib-files-'));
    manager = await w.addUser('maya', 'advanced', true);
    advanced = await w.addUser('adam', 'advanced');
    basic = await w.addUser('bob', 'basic');
    await w.addAgent('lima');
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  const list = async (profile = manager): Promise<Rec[]> => {
    const r = await w.lr(['library', 'list', '--json'], profile);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Rec[];
  };
  const libraryDir = () => join(w.dataDir, 'library');

  it('uploads a file with description and parameters, and lists them', async () => {
    const file = join(files, 'collect.sh');
    writeFileSync(file, '#!/bin/bash\necho collecting "$@"\n');
    const r = await w.lr(
      [
        'library',
        'upload',
        file,
        '--description',
        'Collects triage data',
        '--parameters-description',
        '-d DIR: where to look',
        '--parameters-example',
        '-d /tmp',
      ],
      manager,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^uploaded collect\.sh \(\d+ bytes, sha256 [0-9a-f]{64}, unsigned\)/);
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(await list()).toContainEqual(
      expect.objectContaining({
        name: 'collect.sh',
        description: 'Collects triage data',
        parametersDescription: '-d DIR: where to look',
        parametersExample: '-d /tmp',
        size: readFileSync(file).length,
        sha256,
        uploadedBy: 'maya',
        signature: 'unsigned',
      }),
    );
    // Stored by name on the service's disk, byte for byte.
    expect(readFileSync(join(libraryDir(), 'collect.sh'))).toEqual(readFileSync(file));
    // The console command shows the same records; the table view is the default.
    const c = await w.lr(['exec', 'lima', 'library -output json'], advanced);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout)).toContainEqual(
      expect.objectContaining({
        name: 'collect.sh',
        description: 'Collects triage data',
        parametersDescription: '-d DIR: where to look',
      }),
    );
    const table = await w.lr(['library', 'list'], advanced);
    expect(table.stdout).toMatch(/collect\.sh .*unsigned/);
  });

  it('refuses the same name without overwrite and replaces it with overwrite', async () => {
    const file = join(files, 'dup.sh');
    writeFileSync(file, 'echo one\n');
    expect((await w.lr(['library', 'upload', file], manager)).code).toBe(0);
    writeFileSync(file, 'echo two, longer\n');
    const again = await w.lr(['library', 'upload', file], manager);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe('lr: library file dup.sh already exists (upload with overwrite to replace it)');
    expect((await list()).find((f) => f.name === 'dup.sh')?.size).toBe(9);
    const replaced = await w.lr(['library', 'upload', file, '--overwrite'], manager);
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toMatch(/^replaced dup\.sh/);
    expect((await list()).find((f) => f.name === 'dup.sh')).toMatchObject({
      size: 17,
      sha256: createHash('sha256').update('echo two, longer\n').digest('hex'),
    });
    expect(readFileSync(join(libraryDir(), 'dup.sh'), 'utf8')).toBe('echo two, longer\n');
  });

  it('refuses 251 MB while streaming and leaves nothing on the service disk', async () => {
    // Sparse: costs no disk, but the client still streams it like any file.
    const big = join(files, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, 251 * MB);
    const r = await w.lr(['library', 'upload', big], manager, { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('lr: library files are limited to 250 MB (262144000 bytes)');

    // Without a Content-Length the service can only count while it reads: it must stop at the limit.
    let sent = 0;
    const zeros = Buffer.alloc(MB);
    const body = Readable.from(
      (function* chunks() {
        for (let i = 0; i < 251; i++) {
          sent += zeros.length;
          yield zeros;
        }
      })(),
    );
    const raw = await rawRequest(loadProfile(manager), 'PUT', '/api/v1/library/big-chunked.bin', body, {
      'content-type': 'application/octet-stream',
    });
    expect(raw.status).toBe(413);
    expect(raw.body.error).toMatch(/limited to 250 MB/);
    expect(sent).toBeGreaterThan(200 * MB); // it really streamed: refused on the count, not on a header

    const names = await list();
    expect(names.map((f) => f.name)).not.toContain('big.bin');
    expect(names.map((f) => f.name)).not.toContain('big-chunked.bin');
    expect(existsSync(join(libraryDir(), 'big.bin'))).toBe(false);
    expect(existsSync(join(libraryDir(), 'big-chunked.bin'))).toBe(false);
    expect(readdirSync(join(libraryDir(), '.uploads'))).toEqual([]);
  });

  it('refuses names with / or .. (in the CLI and in the service)', async () => {
    const file = join(files, 'ok.sh');
    writeFileSync(file, 'echo ok\n');
    for (const name of ['a/b', '..', '../escape.sh', 'x..y']) {
      const r = await w.lr(['library', 'upload', file, '--name', name], manager);
      expect(r.code, name).toBe(2);
      expect(r.stderr.trim()).toMatch(/^lr: invalid library file name .*letters, digits/);
    }
    // The service refuses them by itself, whatever the client does (paths sent un-normalised).
    const profile = loadProfile(manager);
    for (const path of [
      '/api/v1/library/..',
      '/api/v1/library/a/b',
      '/api/v1/library/a%2Fb',
      '/api/v1/library/..%2F..%2Fescape.sh',
      '/api/v1/library/.hidden',
    ]) {
      const r = await rawRequest(profile, 'PUT', path, Buffer.from('echo pwned\n'));
      expect(r.status, path).toBe(400);
      expect(r.body.error).toMatch(/invalid library file name/);
    }
    expect(existsSync(join(w.dataDir, 'escape.sh'))).toBe(false);
    expect(existsSync(join(w.dir, 'escape.sh'))).toBe(false);
  });

  it('refuses uploads and deletes to a basic user and to an advanced user without the library-manager permission', async () => {
    const file = join(files, 'nope.sh');
    writeFileSync(file, 'echo nope\n');
    const b = await w.lr(['library', 'upload', file], basic);
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toBe(
      'lr: refused: managing the library needs the advanced role and the library-manager permission (you are basic)',
    );
    const a = await w.lr(['library', 'upload', file], advanced);
    expect(a.code).toBe(2);
    expect(a.stderr.trim()).toBe(
      'lr: refused: managing the library needs the library-manager permission (adam does not have it)',
    );
    expect((await list()).map((f) => f.name)).not.toContain('nope.sh');
    // Listing: advanced yes, basic no.
    expect((await list(advanced)).length).toBeGreaterThan(0);
    const bl = await w.lr(['library', 'list'], basic);
    expect(bl.code).toBe(2);
    expect(bl.stderr).toMatch(/needs the advanced role/);
    // Deleting, over REST and in the console.
    const d = await w.lr(['library', 'delete', 'collect.sh'], advanced);
    expect(d.code).toBe(2);
    const cd = await w.lr(['exec', 'lima', 'library delete collect.sh'], advanced);
    expect(cd.code).toBe(2);
    expect(cd.stderr.trim()).toBe(
      'lr: library: refused: managing the library needs the library-manager permission (adam does not have it)',
    );
    const log = JSON.parse((await w.lr(['log', '--json'])).stdout) as Rec[];
    expect(log).toContainEqual(
      expect.objectContaining({ commandLine: 'library delete collect.sh', status: 'refused', user: 'adam' }),
    );
    expect((await list()).map((f) => f.name)).toContain('collect.sh');
  });

  it('deletes a file for a library manager (REST and console)', async () => {
    const file = join(files, 'gone.sh');
    writeFileSync(file, 'echo gone\n');
    expect((await w.lr(['library', 'upload', file], manager)).code).toBe(0);
    const d = await w.lr(['library', 'delete', 'gone.sh'], manager);
    expect(d.code).toBe(0);
    expect(existsSync(join(libraryDir(), 'gone.sh'))).toBe(false);
    expect((await w.lr(['library', 'upload', file], manager)).code).toBe(0);
    const c = await w.lr(['exec', 'lima', 'library delete gone.sh'], manager);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/deleted gone\.sh/);
    expect((await list()).map((f) => f.name)).not.toContain('gone.sh');
    const again = await w.lr(['library', 'delete', 'gone.sh'], manager);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe('lr: no library file gone.sh');
  });

  it('keeps publishers and settings for admins; turning unsigned scripts on shows the warning', async () => {
    const keys = mkdtempSync(join(tmpdir(), 'lr-keys-'));
    expect((await w.lr(['keys', 'generate', '--out', keys, '--name', 'soc'])).code).toBe(0);
    const refused = await w.lr(['publishers', 'add', 'soc', '--key', join(keys, 'soc.pub.pem')], manager);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/needs the admin role/);
    const added = await w.lr(['publishers', 'add', 'soc', '--key', join(keys, 'soc.pub.pem')]);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/publisher soc added \(key fingerprint sha256:[0-9a-f]{64}\)/);
    const notAKey = await w.lr(['publishers', 'add', 'bad', '--key', join(keys, 'soc.key')]);
    expect(notAKey.code).toBe(2);
    expect(notAKey.stderr).toMatch(/this is a private key/);
    // The service refuses it by itself too: a private key must never be stored.
    const raw = await rawRequest(
      loadProfile(w.adminProfile),
      'POST',
      '/api/v1/publishers',
      Buffer.from(JSON.stringify({ name: 'bad', publicKey: readFileSync(join(keys, 'soc.key'), 'utf8') })),
      { 'content-type': 'application/json' },
    );
    expect(raw.status).toBe(400);
    expect(raw.body.error).toMatch(/private key/);
    const listed = JSON.parse((await w.lr(['publishers', 'list', '--json'])).stdout) as Rec[];
    expect(listed).toEqual([expect.objectContaining({ name: 'soc', addedBy: 'admin' })]);

    expect((await w.lr(['settings', 'get'], manager)).code).toBe(2);
    expect((await w.lr(['settings', 'get'])).stdout).toMatch(/^unsignedScripts off$/m);
    const on = await w.lr(['settings', 'set', 'unsignedScripts', 'on']);
    expect(on.code).toBe(0);
    expect(on.stderr.trim()).toBe(
      'warning: Allowing the use of unsigned scripts may increase your exposure to threats.',
    );
    expect((await w.lr(['settings', 'get'])).stdout).toMatch(/^unsignedScripts on$/m);
    const off = await w.lr(['settings', 'set', 'unsignedScripts', 'off']);
    expect(off.stderr).toBe('');
    expect((await w.lr(['publishers', 'delete', 'soc'])).code).toBe(0);
  });
});

// Security review (tests issue point 5): a library download token is bound to the device it was issued for
// by that device's key, not by a header the device declares. The device "alpha" here is this test holding
// alpha's enrolled key on a real agent link to the real service (its lr-agent stopped), so it can see the
// one-time URL of a job and present it as itself, with no proof, and as the enrolled device "bravo".
describe('library download tokens are bound to the device by its key', () => {
  let w: World;
  let alpha: { dataDir: string; deviceId: string };
  let bravo: { dataDir: string; deviceId: string };
  let link: WebSocket;
  const jobs: { jobId: string; url: string }[] = [];
  const content = Buffer.from('tool bytes\n'.repeat(50));

  const keyOf = (dataDir: string) =>
    createPrivateKey(
      (JSON.parse(readFileSync(join(dataDir, 'agent.json'), 'utf8')) as { privateKey: string }).privateKey,
    );
  const proof = (dataDir: string, token: string, deviceId: string) =>
    sign(null, Buffer.from(agentFileProofPayload(token, deviceId)), keyOf(dataDir)).toString('base64');

  /** GET of a one-time URL with the given headers, over the service's pinned CA. */
  const download = (url: string, headers: Record<string, string>) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const ca = (JSON.parse(readFileSync(join(alpha.dataDir, 'agent.json'), 'utf8')) as { ca: string }).ca;
      const req = httpsRequest(url, { ca, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });
  const errorOf = (r: { body: Buffer }) => (JSON.parse(r.body.toString()) as { error: string }).error;

  /** Runs `putfile tool.bin` on alpha and answers the one-time URL its job.start carries. */
  const nextJob = async () => {
    const before = jobs.length;
    const exec = w.lr(['exec', 'alpha', 'putfile tool.bin -overwrite']);
    await waitFor('job.start on alpha', async () => jobs.length > before);
    return { job: jobs[before]!, exec };
  };

  beforeAll(async () => {
    w = await createWorld();
    const a = await w.addAgent('alpha');
    bravo = await w.addAgent('bravo');
    alpha = a;
    const file = join(w.dir, 'tool.bin');
    writeFileSync(file, content);
    expect((await w.lr(['library', 'upload', file])).code).toBe(0);
    await stop(a.process);
    await waitFor('alpha offline', async () => (await w.devices()).find((d) => d.id === alpha.deviceId && !d.online));
    const state = JSON.parse(readFileSync(join(alpha.dataDir, 'agent.json'), 'utf8')) as { url: string; ca: string };
    link = new WebSocket(`${state.url.replace(/^https:/, 'wss:')}/api/v1/agent`, { ca: state.ca });
    link.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { t: string; nonce?: string; jobId?: string; params?: { _url?: string } };
      if (f.t === 'challenge') {
        const signature = sign(
          null,
          Buffer.from(agentAuthPayload(f.nonce as string, alpha.deviceId)),
          keyOf(alpha.dataDir),
        ).toString('base64');
        link.send(
          JSON.stringify({
            t: 'hello',
            deviceId: alpha.deviceId,
            signature,
            info: { name: 'alpha', hostname: 'alpha', os: 'Linux', platform: 'linux', agentVersion: 'test' },
          }),
        );
      } else if (f.t === 'job.start' && f.params?._url) jobs.push({ jobId: f.jobId as string, url: f.params._url });
    });
    await waitFor('alpha online again (this test)', async () =>
      (await w.devices()).find((d) => d.id === alpha.deviceId && d.online),
    );
  });
  afterAll(async () => {
    link?.close();
    await w?.cleanup();
  });

  it("refuses a token without the device's proof, with another device's proof, or claimed with another device's signature; serves it to its device", async () => {
    const first = await nextJob();
    const token = new URL(first.job.url).pathname.split('/').pop() as string;
    // No proof: only the header a device declares itself (what used to be enough).
    const bare = await download(first.job.url, { 'x-lr-device': alpha.deviceId });
    expect(bare.status).toBe(403);
    expect(errorOf(bare)).toBe('download refused: the request is not signed by an enrolled device (x-lr-device-proof)');
    // Claiming alpha, signed by bravo's key: refused, and the token is not spent by it.
    expect(
      (
        await download(first.job.url, {
          'x-lr-device': alpha.deviceId,
          'x-lr-device-proof': proof(bravo.dataDir, token, alpha.deviceId),
        })
      ).status,
    ).toBe(403);
    // Bravo, an enrolled device proving itself correctly, holding alpha's token: refused.
    const other = await download(first.job.url, {
      'x-lr-device': bravo.deviceId,
      'x-lr-device-proof': proof(bravo.dataDir, token, bravo.deviceId),
    });
    expect(other.status).toBe(403);
    expect(errorOf(other)).toBe('this download token belongs to another device');
    link.send(JSON.stringify({ t: 'job.end', jobId: first.job.jobId, status: 'failed', error: 'putfile: test' }));
    await first.exec;

    const second = await nextJob();
    const token2 = new URL(second.job.url).pathname.split('/').pop() as string;
    const mine = await download(second.job.url, {
      'x-lr-device': alpha.deviceId,
      'x-lr-device-proof': proof(alpha.dataDir, token2, alpha.deviceId),
    });
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual(content);
    link.send(JSON.stringify({ t: 'job.end', jobId: second.job.jobId, status: 'failed', error: 'putfile: test' }));
    await second.exec;
  });

  it('a real agent downloads with its proof (putfile on bravo completes)', async () => {
    const r = await w.lr(['exec', 'bravo', 'putfile tool.bin']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(bravo.dataDir, 'work', 'tool.bin'))).toEqual(content);
  });
});
