// Enrollment in one line: `lr-server enroll-token --installer linux` writes a bash
// script that downloads the real single-file agent from the service's agent-files route over HTTPS pinned to
// the service's CA, checks its SHA-256, enrolls and starts it; the device comes online and answers
// `processes`. A file changed by one byte on the service after the script was made is refused by the script.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, ROOT, run, waitFor, type World } from './harness.js';

const execFileP = promisify(execFile);

function get(
  w: World,
  path: string,
  token?: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const ca = readFileSync(join(w.dataDir, 'tls', 'ca.pem'), 'utf8');
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    };
    const req = request(`https://127.0.0.1:${w.port}${path}`, { ca, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs a generated script with bash; TMPDIR points into the world so leftovers can be seen. */
function runScript(
  script: string,
  args: string[],
  tmp: string,
): { code: number | null; stdout: string; stderr: string } {
  mkdirSync(tmp, { recursive: true });
  const r = spawnSync('bash', [script, ...args], {
    env: { ...process.env, TMPDIR: tmp },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('installer script (enroll-token --installer)', () => {
  let w: World;
  let built: string;
  const started: number[] = [];

  beforeAll(async () => {
    w = await createWorld();
    const out = mkdtempSync(join(tmpdir(), 'lr-agent-build-'));
    built = join(out, 'lr-agent-linux-x64');
    // The real single-file agent (SEA), as an admin would publish it. LR_TEST_AGENT_LINUX_X64: one built
    // already by `npm run package:agent` (copied, to save its ~15 s when re-running this file by hand).
    if (process.env.LR_TEST_AGENT_LINUX_X64) copyFileSync(process.env.LR_TEST_AGENT_LINUX_X64, built);
    else
      await execFileP('npm', ['run', 'package:agent', '--', '--target', 'linux-x64', '--out', out], {
        cwd: ROOT,
        timeout: 180_000,
      });
  }, 240_000);

  afterAll(async () => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    if (built) rmSync(join(built, '..'), { recursive: true, force: true });
    await w?.cleanup();
  });

  it('refuses in one line when the service has no agent file for the OS yet, before making a token', async () => {
    const r = await run('lr-server', [
      'enroll-token',
      '--data',
      w.dataDir,
      '--installer',
      'linux',
      '--out',
      join(w.dir, 'none.sh'),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('no agent file for linux yet');
    expect(r.stderr).toContain('lr-server agent-files add FILE --target linux-x64');
    expect(existsSync(join(w.dir, 'none.sh'))).toBe(false);
  });

  it('the generated bash script downloads, verifies, enrolls and starts the agent: it comes online and answers processes', async () => {
    const add = await run('lr-server', ['agent-files', 'add', built, '--target', 'linux-x64', '--data', w.dataDir]);
    expect(add.stderr).toBe('');
    const hash = sha256(built);
    expect(add.stdout).toContain(`SHA-256 ${hash}`);

    const script = join(w.dir, 'lr-install-linux.sh');
    const made = await run('lr-server', [
      'enroll-token',
      '--data',
      w.dataDir,
      '--installer',
      'linux',
      '--out',
      script,
      '--ttl',
      '1h',
    ]);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/one-time enrollment token valid until \d{4}-\d\d-\d\dT/);
    expect(statSync(script).mode & 0o777).toBe(0o600);
    expect(readFileSync(script, 'utf8')).toContain(`LR_SHA256_LINUX_X64='${hash}'`);

    const data = join(w.dir, 'device-one');
    const r = runScript(script, ['--data', data, '--no-service', '--name', 'one-liner'], join(w.dir, 'tmp-one'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`lr-agent-linux-x64 (SHA-256 ${hash}) verified`);
    const pid = Number(/pid (\d+)/.exec(r.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    started.push(pid);
    expect(sha256(join(data, 'bin', 'lr-agent'))).toBe(hash);
    // The bundle (with the token) lived in a private temp folder, removed on exit.
    expect(readdirSync(join(w.dir, 'tmp-one'))).toEqual([]);

    await waitFor(
      'one-liner online',
      async () => (await w.devices()).find((d) => d.name === 'one-liner' && d.online),
      20_000,
    );
    const ps = await w.lr(['exec', 'one-liner', 'processes']);
    expect(ps.stderr).toBe('');
    expect(ps.code).toBe(0);
    expect(ps.stdout).toMatch(/lr-agent/);

    // The token was spent by the enrollment: the same script cannot download (nor enroll) again.
    const again = runScript(script, ['--data', join(w.dir, 'device-again'), '--no-service'], join(w.dir, 'tmp-again'));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/could not download/);
    expect(existsSync(join(w.dir, 'device-again', 'bin', 'lr-agent'))).toBe(false);
  }, 120_000);

  it('a tampered agent file (one byte changed on the service after the script was made) is refused: nothing installed or enrolled', async () => {
    const script = join(w.dir, 'lr-install-tampered.sh');
    const made = await run('lr-server', [
      'enroll-token',
      '--data',
      w.dataDir,
      '--installer',
      'linux',
      '--out',
      script,
      '--ttl',
      '1h',
    ]);
    expect(made.code).toBe(0);
    const served = join(w.dataDir, 'agent-files', 'lr-agent-linux-x64');
    const bytes = readFileSync(served);
    const middle = bytes.length >> 1;
    bytes[middle] = (bytes[middle] as number) ^ 0x01;
    writeFileSync(served, bytes);
    const before = (await w.devices()).length;

    const data = join(w.dir, 'device-tampered');
    const tmp = join(w.dir, 'tmp-tampered');
    const r = runScript(script, ['--data', data, '--no-service', '--name', 'tampered'], tmp);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^lr-install: the downloaded lr-agent-linux-x64 has SHA-256 [0-9a-f]{64}, not [0-9a-f]{64}: refused, nothing installed$/,
    );
    expect(existsSync(data)).toBe(false); // no agent, no folder, no key
    expect(readdirSync(tmp)).toEqual([]); // the download removed
    expect((await w.devices()).length).toBe(before);

    // The service serves the changed file with its new hash: only the script's own SHA-256 caught it.
    const token = /Authorization: Bearer (\S+)/.exec(
      Buffer.from(/LR_AUTH_B64='([^']+)'/.exec(readFileSync(script, 'utf8'))?.[1] ?? '', 'base64').toString(),
    )?.[1];
    const res = await get(w, '/api/v1/agent-files/lr-agent-linux-x64', token);
    expect(res.status).toBe(200);
    expect(res.headers['x-content-sha256']).toBe(createHash('sha256').update(bytes).digest('hex'));
    writeFileSync(served, readFileSync(built)); // put the good file back for later tests
  }, 120_000);

  it('the download route: an enrollment token (not spent) or an API token; other names 404 without a look at the disk', async () => {
    const bundle = join(w.dir, 'plain.bundle.json');
    expect((await run('lr-server', ['enroll-token', '--data', w.dataDir, '--out', bundle])).code).toBe(0);
    const token = (JSON.parse(readFileSync(bundle, 'utf8')) as { token: string }).token;
    const first = await get(w, '/api/v1/agent-files/lr-agent-linux-x64', token);
    expect(first.status).toBe(200);
    expect(first.headers['content-length']).toBe(String(statSync(built).size));
    expect(first.headers['x-content-sha256']).toBe(sha256(built));
    expect(createHash('sha256').update(first.body).digest('hex')).toBe(sha256(built));
    // Checked, not spent: the token still enrolls a device afterwards.
    const again = await get(w, '/api/v1/agent-files/lr-agent-linux-x64', token);
    expect(again.status).toBe(200);
    const enrolled = await run('lr-agent', [
      'enroll',
      '--bundle',
      bundle,
      '--data',
      join(w.dir, 'agent-after-download'),
      '--name',
      'after-download',
    ]);
    expect(enrolled.code).toBe(0);
    // Spent now: refused.
    expect((await get(w, '/api/v1/agent-files/lr-agent-linux-x64', token)).status).toBe(401);

    expect((await get(w, '/api/v1/agent-files/lr-agent-linux-x64')).status).toBe(401);
    expect((await get(w, '/api/v1/agent-files/lr-agent-linux-x64', 'lre_aaaaaaaaaaaa_' + 'A'.repeat(43))).status).toBe(
      401,
    );
    const admin = (JSON.parse(readFileSync(w.adminProfile, 'utf8')) as { token: string }).token;
    expect((await get(w, '/api/v1/agent-files/lr-agent-linux-x64', admin)).status).toBe(200);
    for (const name of [
      '..%2Fconfig.json',
      'config.json',
      '.lr-agent-linux-x64.tmp',
      'lr-agent-linux-x64%00',
      'lr-agent-linux-arm64x',
    ]) {
      expect((await get(w, `/api/v1/agent-files/${name}`, admin)).status, name).toBe(404);
    }
    // Listed for any signed-in user, never without a token.
    const basic = (JSON.parse(readFileSync(await w.addUser('viewer', 'basic'), 'utf8')) as { token: string }).token;
    const list = await get(w, '/api/v1/agent-files', basic);
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body.toString())).toEqual([
      expect.objectContaining({
        target: 'linux-x64',
        name: 'lr-agent-linux-x64',
        size: statSync(built).size,
        sha256: sha256(built),
      }),
    ]);
    expect((await get(w, '/api/v1/agent-files')).status).toBe(401);
  }, 60_000);

  it('the PowerShell installer carries the right URL, CA, token and hash (pwsh is not in Debian: not run here)', async () => {
    // A stand-in Windows file (MZ header): what is checked is what the script carries, not the file.
    const exe = join(w.dir, 'stand-in.exe');
    writeFileSync(exe, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(1000, 7)]));
    expect((await run('lr-server', ['agent-files', 'add', exe, '--target', 'win-x64', '--data', w.dataDir])).code).toBe(
      0,
    );
    const script = join(w.dir, 'lr-install-windows.ps1');
    const made = await run('lr-server', [
      'enroll-token',
      '--data',
      w.dataDir,
      '--installer',
      'windows',
      '--out',
      script,
    ]);
    expect(made.code).toBe(0);
    expect(statSync(script).mode & 0o777).toBe(0o600);
    const text = readFileSync(script, 'utf8');
    const value = (name: string) =>
      /^\$(\w+) = '([^']*)'$/m.exec(text.split('\n').find((l) => l.startsWith(`$${name} = `)) ?? '')?.[2];
    expect(value('LrBase')).toBe(`https://127.0.0.1:${w.port}`);
    expect(value('LrSha256')).toBe(sha256(exe));
    const ca = readFileSync(join(w.dataDir, 'tls', 'ca.pem'), 'utf8');
    const der = Buffer.from(ca.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''), 'base64');
    expect(Buffer.from(value('LrCaDerB64') ?? '', 'base64').equals(der)).toBe(true);
    const bundle = JSON.parse(Buffer.from(value('LrBundleB64') ?? '', 'base64').toString()) as {
      token: string;
      ca: string;
      url: string;
    };
    expect(bundle.ca).toBe(ca);
    expect(Buffer.from(value('LrTokenB64') ?? '', 'base64').toString()).toBe(bundle.token);
    expect(made.stdout).toContain(`lr-agent-win-x64.exe ${sha256(exe)}`);
    // The download is pinned by a certificate callback that checks the chain ends at that CA.
    expect(text).toContain(
      'ServerCertificateValidationCallback = [Net.Security.RemoteCertificateValidationCallback][LrCaPin]::Check',
    );
    expect(text).not.toMatch(/\{\s*\$true\s*\}/);
  });

  it("a script whose CA is not the service's refuses the download: the pin is the only trust", async () => {
    const script = join(w.dir, 'lr-install-other-ca.sh');
    expect(
      (
        await run('lr-server', [
          'enroll-token',
          '--data',
          w.dataDir,
          '--installer',
          'linux',
          '--out',
          script,
          '--ttl',
          '1h',
        ])
      ).code,
    ).toBe(0);
    // Another service's CA (a data folder of its own) in place of this one's.
    const other = join(w.dir, 'other-service');
    expect((await run('lr-server', ['init', '--data', other, '--listen', '127.0.0.1:1'])).code).toBe(0);
    const otherCa = Buffer.from(readFileSync(join(other, 'tls', 'ca.pem'))).toString('base64');
    writeFileSync(script, readFileSync(script, 'utf8').replace(/^LR_CA_B64='[^']*'$/m, `LR_CA_B64='${otherCa}'`), {
      mode: 0o600,
    });
    const data = join(w.dir, 'device-other-ca');
    const r = runScript(script, ['--data', data, '--no-service'], join(w.dir, 'tmp-other-ca'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/SSL certificate problem/);
    expect(r.stderr).toMatch(/lr-install: could not download lr-agent-linux-x64 from https:\/\/127\.0\.0\.1:\d+\n$/);
    expect(existsSync(data)).toBe(false);
  }, 60_000);

  it('POST /api/v1/installers/:os (the workstation\'s "Add a device") is for admins only', async () => {
    const advanced = (JSON.parse(readFileSync(await w.addUser('responder', 'advanced'), 'utf8')) as { token: string })
      .token;
    const refused = await get(w, '/api/v1/installers/linux', advanced, 'POST', '{}');
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body.toString())).toEqual({
      error: 'refused: making an installer needs the admin role (you are advanced)',
    });
    const admin = (JSON.parse(readFileSync(w.adminProfile, 'utf8')) as { token: string }).token;
    const made = await get(w, '/api/v1/installers/linux', admin, 'POST', '{}');
    expect(made.status).toBe(200);
    const answer = JSON.parse(made.body.toString()) as {
      fileName: string;
      text: string;
      command: string;
      expiresAt: string;
      files: { sha256: string }[];
    };
    expect(answer.fileName).toBe('lr-install-linux.sh');
    expect(answer.command).toBe('sudo bash lr-install-linux.sh');
    expect(answer.files.map((f) => f.sha256)).toEqual([sha256(built)]);
    expect(answer.text).toContain(`LR_SHA256_LINUX_X64='${sha256(built)}'`);
    expect((await get(w, '/api/v1/installers/macos', admin, 'POST', '{}')).status).toBe(404);
  });

  // Last: it leaves 127.0.0.1 rate-limited for a while.
  it('wrong tokens on the download route count as failed authentications: the address is then answered 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push(
        (await get(w, '/api/v1/agent-files/lr-agent-linux-x64', `lre_aaaaaaaaaaaa_${'B'.repeat(43)}`)).status,
      );
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
  }, 60_000);
});
