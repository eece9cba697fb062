// One session per device, idle timeout, time limits cancelled on the agent,
// role refusals, each as a one-line error recorded in the command log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createWorld, waitFor, type World } from './harness.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { profileSchema } from '../../src/node/profile.js';

const connect = (file: string) => ConsoleClient.connect(profileSchema.parse(JSON.parse(readFileSync(file, 'utf8'))));

describe('session limits, time limits and roles', () => {
  let w: World;
  beforeAll(async () => {
    // Seconds instead of minutes so the test can watch them act.
    w = await createWorld({ idleTimeoutSec: 2, longCommandTimeoutSec: 0.3 });
    await w.addAgent('charlie');
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('refuses a second session on a device with a clear error', async () => {
    const c = await connect(w.adminProfile);
    try {
      const s = await c.openSession('charlie');
      const r = await w.lr(['exec', 'charlie', 'dir']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toMatch(/^lr: connect: charlie already has a live response session \(opened by admin/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      c.closeSession(s.id);
    } finally {
      c.close();
    }
  });

  it('closes an idle session after the configured timeout', async () => {
    await waitFor('device free', async () => (await w.lr(['exec', 'charlie', 'cd /'])).code === 0);
    const c = await connect(w.adminProfile);
    try {
      const closed = new Promise<string>((res) => c.on('sessionClosed', (_id, reason) => res(reason)));
      const t0 = Date.now();
      await c.openSession('charlie');
      const reason = await closed;
      expect(reason).toMatch(/idle/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
      expect(Date.now() - t0).toBeLessThan(6000);
    } finally {
      c.close();
    }
  });

  it('cancels a command past its time limit on the agent and logs it as timed out', async () => {
    await waitFor('device free', async () => (await w.lr(['exec', 'charlie', 'cd /'])).code === 0);
    // findfile over the whole root takes far longer than the 0.3 s limit set above.
    const r = await w.lr(['exec', 'charlie', 'findfile no-such-file-anywhere.xyz -path /']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/timed out/);
    // The agent itself reported the stop (not the service's fallback), so the walk ended on the device.
    expect(r.stderr).toMatch(/stopped on the device/);
    const log = JSON.parse((await w.lr(['log', '--device', 'charlie', '--json'])).stdout) as {
      commandLine: string;
      status: string;
    }[];
    expect(log.find((e) => e.commandLine.startsWith('findfile no-such-file'))?.status).toBe('timed_out');
  });

  it('refuses an advanced command to a basic user and records the refusal', async () => {
    const basic = await w.addUser('bea', 'basic');
    const r = await w.lr(['exec', 'charlie', 'run cleanup.sh'], basic);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('lr: run: refused: needs the advanced role (you are basic)');
    const log = JSON.parse((await w.lr(['log', '--json'])).stdout) as {
      commandLine: string;
      status: string;
      user: string;
      error: string;
    }[];
    expect(log).toContainEqual(
      expect.objectContaining({
        commandLine: 'run cleanup.sh',
        status: 'refused',
        user: 'bea',
        error: 'run: refused: needs the advanced role (you are basic)',
      }),
    );
  });

  it('answers bad quoting, unknown commands and bad parameters with one line each, logged', async () => {
    for (const [line, re] of [
      ['dir "unterminated', /quote/],
      ['frobnicate now', /unknown command/],
      ['processes -pid abc', /integer/],
      ['dir -nosuchflag', /unknown parameter/],
    ] as const) {
      const r = await w.lr(['exec', 'charlie', line]);
      expect(r.code, line).toBe(2);
      expect(r.stderr.trim()).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
