// lr shell: a getfile sent to the background with `&` keeps downloading into the local folder, is
// verified, and its end is announced at the prompt; the same session goes on serving commands meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, createWorld, waitFor, type World } from './harness.js';

describe('lr shell', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('foxtrot');
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('downloads in the background with & while other commands run, then announces the verified file', async () => {
    const src = join(mkdtempSync(join(tmpdir(), 'lr-shell-src-')), 'evidence.bin');
    const fd = openSync(src, 'w');
    for (let i = 0; i < 8; i++) writeSync(fd, randomBytes(8 << 20));
    closeSync(fd);
    const local = mkdtempSync(join(tmpdir(), 'lr-shell-dl-'));
    const sh = spawn(process.execPath, [BIN('lr'), '--profile', w.adminProfile, 'shell', 'foxtrot'], { cwd: local, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: join(local, '.state') } });
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    sh.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('prompt', async () => out.includes('foxtrot:/>'));
    sh.stdin.write(`getfile "${src}" &\n`);
    await waitFor('background notice', async () => /downloading in the background/.test(out));
    sh.stdin.write('dir /\n');
    await waitFor('download announced', async () => /downloaded: [0-9a-f]{64}/.test(out), 60_000);
    const sha = execFileSync('sha256sum', [src]).toString().split(' ')[0];
    expect(out).toContain(`downloaded: ${sha}  ${join(local, 'evidence.bin')}`);
    expect(execFileSync('sha256sum', [join(local, 'evidence.bin')]).toString().split(' ')[0]).toBe(sha);
    expect(out).toMatch(/drwx/); // the dir listing ran in the same session
    sh.stdin.write('exit\n');
    await new Promise((r) => sh.once('close', r));
  }, 120_000);
});
