// The parts of self-update that differ on Windows, run here on Linux: the staged build's file name, how the
// supervisor stops a build there (no SIGTERM: the IPC `stop` message, the build closing itself), and the
// child's output handed to the service's log. Real child processes (small Node scripts standing in for agent
// builds, named as such); the real .exe under Wine is in test/integration/windows/update.test.ts.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Logger } from '../../../src/node/log.js';
import { buildFileName, buildPath } from '../../../src/agent/update/layout.js';
import { askToStop, runSupervisor } from '../../../src/agent/update/supervisor.js';

const root = mkdtempSync(join(tmpdir(), 'lr-supervisor-win-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('staged build file name', () => {
  it('is lr-agent.exe on Windows, lr-agent elsewhere, in a folder of its own per version', () => {
    expect(buildFileName('win32')).toBe('lr-agent.exe');
    expect(buildFileName('linux')).toBe('lr-agent');
    expect(buildPath('/d', '1.2.3')).toBe(join('/d', 'builds', '1.2.3', buildFileName()));
  });
});

/** A stand-in build: ends (code 0) on the IPC message `stop`, ignores SIGTERM. */
function stopOnIpcChild() {
  const script =
    "process.on('SIGTERM', () => {}); process.on('message', (m) => { if (m && m.t === 'stop') process.exit(0); }); process.send('up'); setInterval(() => {}, 1000);";
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const up = new Promise<void>((resolve) => child.once('message', () => resolve()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, up, exit };
}

describe('askToStop', () => {
  it('on Windows asks a build over IPC, which then ends by itself (exit code 0, no signal)', async () => {
    const { child, up, exit } = stopOnIpcChild();
    await up;
    askToStop(child, 'win32');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000); // not asked: this stand-in would never end
    expect(await exit).toEqual({ code: 0, signal: null });
    clearTimeout(timer);
  });

  it('on Linux sends SIGTERM (the build handles it as before)', async () => {
    const { child, up, exit } = stopOnIpcChild();
    await up;
    askToStop(child, 'linux');
    const timer = setTimeout(() => child.kill('SIGKILL'), 1500); // this stand-in ignores SIGTERM
    expect(await exit).toEqual({ code: null, signal: 'SIGKILL' });
    clearTimeout(timer);
  });

  it('on Windows kills a build whose IPC channel is gone (nothing could hear the message)', () => {
    const calls: string[] = [];
    const fakeChild = {
      connected: false,
      send: () => (calls.push('send'), true),
      kill: () => (calls.push('kill'), true),
    };
    askToStop(fakeChild as never, 'win32');
    expect(calls).toEqual(['kill']);
  });
});

describe('runSupervisor childOutput', () => {
  it("hands the build's stdout and stderr to childOutput (a Windows service has no console)", async () => {
    const dir = join(root, 'agent');
    mkdirSync(dir, { recursive: true });
    const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(
      join(dir, 'agent.json'),
      JSON.stringify({
        kind: 'lr-agent',
        url: 'wss://127.0.0.1:1',
        ca: 'x'.repeat(60),
        deviceId: 'dev1',
        name: 'dev1',
        privateKey: key,
      }),
    );
    const fake = join(root, 'fake-build.js'); // a stand-in build: two lines of output, then waits
    writeFileSync(
      fake,
      "process.stdout.write('out line\\n'); process.stderr.write('err line\\n'); setInterval(() => {}, 1000);",
    );
    const stop = new AbortController();
    let output = '';
    const done = runSupervisor({
      dataDir: dir,
      log: new Logger('test', 'off'),
      self: [process.execPath, fake],
      stopSignal: stop.signal,
      childOutput: (chunk) => (output += chunk),
    });
    const deadline = Date.now() + 10_000;
    while (!(output.includes('out line') && output.includes('err line')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    expect(await done).toBe(0);
    expect(output).toContain('out line\n');
    expect(output).toContain('err line\n');
  });
});
