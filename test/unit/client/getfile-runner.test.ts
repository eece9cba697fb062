// The runner's logic: runGetfile (real FileDownload, real files) driven by a scripted
// stand-in for the service connection (FakeConsole below: only the part of ConsoleClient the runner uses).
//   - a cancel while the device is offline ends the wait at once, and no attempt ever starts afterwards;
//   - without a cancel, the device's return resumes at the byte on disk (the behaviour cancel must stop);
//   - `fg` replaying the file record does not restart the download from zero;
//   - a partial download is announced in MiB and %, with the way to start from zero; -restart discards it.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandHandlers, CommandOutcome, ConsoleClient } from '../../../src/client/console-client.js';
import { describePartial, runGetfile } from '../../../src/client/getfile-runner.js';

const MIB = 1024 * 1024;
const body = Buffer.alloc(4 * MIB, 7);
const sha = createHash('sha256').update(body).digest('hex');
const MTIME = '2026-01-01T00:00:00.000Z';

type Script = (h: CommandHandlers, line: string, fake: FakeConsole) => void;

/** Plays one script per command line the runner sends; records the lines. */
class FakeConsole extends EventEmitter {
  readonly lines: string[] = [];
  constructor(private readonly scripts: Script[]) {
    super();
  }
  run(
    _sessionId: string,
    line: string,
    handlers: CommandHandlers = {},
  ): { outcome: Promise<CommandOutcome>; commandId(): string | undefined } {
    this.lines.push(line);
    const id = `c${this.lines.length}`;
    const script = this.scripts.shift();
    const outcome = new Promise<CommandOutcome>((resolve) => {
      setImmediate(() => {
        handlers.onStarted?.({ t: 'command.started', commandId: id, name: 'getfile', background: false });
        script?.(
          {
            ...handlers,
            onEnd: (o) => {
              handlers.onEnd?.({ ...o, commandId: id });
              resolve({ ...o, commandId: id });
            },
          },
          line,
          this,
        );
      });
    });
    return { outcome, commandId: () => id };
  }
  cancel(): void {}
  openSession(): Promise<never> {
    return Promise.reject(new Error('the session survived'));
  }
}

const fileRecord = (offset: number) => ({
  type: 'file',
  path: '/data/big.bin',
  size: body.length,
  mtime: MTIME,
  offset,
});

/** Sends the first `upTo` bytes, then the device drops. */
const dropsAfter =
  (upTo: number): Script =>
  (h, _line, fake) => {
    h.onRecords?.([fileRecord(0)]);
    h.onData?.(0, body.subarray(0, upTo));
    fake.emit('deviceState', 'dev1', false);
    h.onEnd?.({
      commandId: '',
      status: 'failed',
      error: 'the device went offline while the command ran',
      durationMs: 1,
      background: false,
    });
  };

/** Sends the rest from the offset in the line, then the device's hash. */
const finishes: Script = (h, line) => {
  const offset = Number(/-offset (\d+)/.exec(line)?.[1] ?? 0);
  h.onRecords?.([fileRecord(offset)]);
  h.onData?.(offset, body.subarray(offset));
  h.onRecords?.([{ type: 'file-end', sha256: sha, size: body.length }]);
  h.onEnd?.({ commandId: '', status: 'completed', durationMs: 1, background: false });
};

describe('runGetfile', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'lr-runner-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const options = (fake: FakeConsole, extra: Partial<Parameters<typeof runGetfile>[0]> = {}) => ({
    client: fake as unknown as ConsoleClient,
    sessionId: 's1',
    deviceId: 'dev1',
    path: '/data/big.bin',
    outDir: out,
    resumeWaitMs: 60_000,
    ...extra,
  });

  it('resumes at the byte on disk when the device comes back (no cancel)', async () => {
    const fake = new FakeConsole([dropsAfter(MIB), finishes]);
    const notices: string[] = [];
    const done = runGetfile(options(fake, { onNotice: (m) => notices.push(m) }));
    await new Promise((r) => setTimeout(r, 50));
    fake.emit('deviceState', 'dev1', true);
    const result = await done;
    expect(result.ok).toBe(true);
    expect(fake.lines).toEqual(['getfile /data/big.bin', `getfile /data/big.bin -offset ${MIB}`]);
    expect(notices).toContain(
      'the device went offline at 1.0 MiB of 4.0 MiB (25 %); waiting for it to come back to resume',
    );
  });

  it('item 1: a cancel while the device is offline ends at once; its return starts nothing', async () => {
    const fake = new FakeConsole([dropsAfter(MIB), finishes]);
    const abort = new AbortController();
    const done = runGetfile(options(fake, { signal: abort.signal }));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    abort.abort();
    const result = await done;
    expect(Date.now() - t0).toBeLessThan(100);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.outcome.status).toBe('cancelled');
    expect(result.outcome.error).toBe(
      'cancelled while the device was offline (nothing more was sent to it); the partial file (1.0 MiB of 4.0 MiB (25 %)) is kept: getfile again resumes it, -restart starts from zero',
    );
    fake.emit('deviceState', 'dev1', true);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.lines).toEqual(['getfile /data/big.bin']);
  });

  it('item 1: the failure "went offline" arriving before the offline event does not resend at once', async () => {
    // Under load the service's device.state event can come after the command's failure: the runner must not
    // take the stale "online" for a return and send the resume to a device that is gone.
    const lateOffline: Script = (h, _line, fake) => {
      h.onRecords?.([fileRecord(0)]);
      h.onData?.(0, body.subarray(0, MIB));
      h.onEnd?.({
        commandId: '',
        status: 'failed',
        error: 'the device went offline while the command ran',
        durationMs: 1,
        background: false,
      });
      setTimeout(() => fake.emit('deviceState', 'dev1', false), 20);
    };
    const fake = new FakeConsole([lateOffline, finishes]);
    const abort = new AbortController();
    const done = runGetfile(options(fake, { signal: abort.signal }));
    await new Promise((r) => setTimeout(r, 60));
    expect(fake.lines).toEqual(['getfile /data/big.bin']);
    abort.abort();
    const result = await done;
    expect(result.ok).toBe(false);
    fake.emit('deviceState', 'dev1', true);
    await new Promise((r) => setTimeout(r, 30));
    expect(fake.lines).toEqual(['getfile /data/big.bin']);
  });

  it('item 1: a cancel that lands while the attempt is failing (device lost) does not resume either', async () => {
    const abort = new AbortController();
    const fake = new FakeConsole([
      (h, line, f) => {
        abort.abort();
        dropsAfter(MIB)(h, line, f);
        f.emit('deviceState', 'dev1', true);
      },
      finishes,
    ]);
    const result = await runGetfile(options(fake, { signal: abort.signal }));
    expect(result.ok).toBe(false);
    expect(fake.lines).toEqual(['getfile /data/big.bin']);
  });

  it('item 7: a replayed file record (fg) is not a new transfer', async () => {
    const fake = new FakeConsole([
      (h) => {
        h.onRecords?.([fileRecord(0)]);
        h.onData?.(0, body.subarray(0, MIB));
        h.onRecords?.([fileRecord(0)]); // fg: the service replays what the job printed so far
        h.onData?.(MIB, body.subarray(MIB));
        h.onRecords?.([{ type: 'file-end', sha256: sha, size: body.length }]);
        h.onEnd?.({ commandId: '', status: 'completed', durationMs: 1, background: false });
      },
    ]);
    const result = await runGetfile(options(fake));
    expect(result.ok && result.download.sha256).toBe(sha);
    expect(fake.lines).toEqual(['getfile /data/big.bin']);
  });

  it('item 7: a partial download is announced in MiB and %; -restart discards it and starts from zero', async () => {
    const first = new FakeConsole([dropsAfter(MIB)]);
    const abort = new AbortController();
    const cancelled = runGetfile(options(first, { signal: abort.signal }));
    await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    await cancelled;

    const notices: string[] = [];
    const again = new FakeConsole([finishes]);
    expect(
      (await runGetfile(options(again, { onNotice: (m) => notices.push(m), signal: new AbortController().signal }))).ok,
    ).toBe(true);
    expect(again.lines).toEqual([`getfile /data/big.bin -offset ${MIB}`]);
    expect(notices[0]).toBe(
      'resuming /data/big.bin at byte 1048576: 1.0 MiB of 4.0 MiB (25 %), kept from an earlier download; getfile /data/big.bin -restart starts from zero',
    );

    // Partial again, then -restart.
    const third = new FakeConsole([dropsAfter(2 * MIB)]);
    const abort3 = new AbortController();
    const p3 = runGetfile(options(third, { signal: abort3.signal, path: '/data/big.bin' }));
    await new Promise((r) => setTimeout(r, 50));
    abort3.abort();
    await p3;
    const restarted: string[] = [];
    const fresh = new FakeConsole([finishes]);
    expect((await runGetfile(options(fresh, { restart: true, onNotice: (m) => restarted.push(m) }))).ok).toBe(true);
    expect(fresh.lines).toEqual(['getfile /data/big.bin']);
    expect(restarted[0]).toBe(
      '/data/big.bin: discarding the partial download (2.0 MiB of 4.0 MiB (50 %)) and starting from zero',
    );
  });

  it('describePartial: MiB/GiB and a whole percentage', () => {
    expect(describePartial(161_742_848, 1024 ** 3)).toBe('154.3 MiB of 1.0 GiB (15 %)');
    expect(describePartial(5, 0)).toBe('5 B');
  });
});
