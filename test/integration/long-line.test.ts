// A command line over the 8192-character limit, or any other invalid console frame that still carries a
// readable request id, is answered on that id in one line and logged: the client never waits forever and
// the device's single session is released at once for the next analyst.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';

interface LogEntry {
  commandLine: string;
  status: string;
  user: string;
  error: string | null;
  deviceName: string | null;
}

describe('overlong command lines and invalid console frames', () => {
  let w: World;
  let ivan: string;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('hotel');
    ivan = await w.addUser('ivan', 'basic');
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  const log = async (): Promise<LogEntry[]> => JSON.parse((await w.lr(['log', '--json'])).stdout) as LogEntry[];

  it('refuses a 9 000-character line in one line (exit 2), logs it, and the device is free at once', async () => {
    const line = `dir ${'a'.repeat(8996)}`;
    const t0 = Date.now();
    const r = await w.lr(['exec', 'hotel', line], undefined, { timeoutMs: 15_000 });
    console.log(`lr exec with a 9000-character line answered in ${Date.now() - t0} ms`);
    expect(r.stderr.trim()).toBe('lr: command line is 9000 characters; the limit is 8192');
    expect(r.code).toBe(2);
    expect((await log()).find((e) => e.commandLine.length === 9000)).toMatchObject({
      status: 'refused',
      user: 'admin',
      deviceName: 'hotel',
      error: 'command line is 9000 characters; the limit is 8192',
    });
    // Another analyst gets the device's session straight away (no idle timeout to wait for).
    const t1 = Date.now();
    const next = await w.lr(['exec', 'hotel', 'dir /'], ivan, { timeoutMs: 15_000 });
    expect(next.stderr).toBe('');
    expect(next.code).toBe(0);
    console.log(`the next analyst's lr exec dir: ${Date.now() - t1} ms`);
  });

  it('answers a line beyond the wire bound on its request id too, and logs its start', async () => {
    const line = `dir ${'b'.repeat(99_996)}`;
    const r = await w.lr(['exec', 'hotel', line], undefined, { timeoutMs: 15_000 });
    expect(r.stderr.trim()).toBe('lr: command line is 100000 characters; the limit is 8192');
    expect(r.code).toBe(2);
    const entry = (await log()).find((e) => e.commandLine.startsWith('dir bbb'));
    expect(entry).toMatchObject({
      status: 'refused',
      deviceName: 'hotel',
      error: 'command line is 100000 characters; the limit is 8192',
    });
    expect(entry?.commandLine).toHaveLength(8193); // the first 8192 characters and an ellipsis
    expect((await w.lr(['exec', 'hotel', 'dir /'], ivan, { timeoutMs: 15_000 })).code).toBe(0);
  });

  it('answers an invalid session request on its request id (no hang)', async () => {
    const r = await w.lr(['exec', 'x'.repeat(200), 'dir'], undefined, { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^lr: malformed frame: device: .*128/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
