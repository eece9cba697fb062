// The workstation's y/N before remediate, isolate and release (src/main/services/console-confirm.ts).
// The client below is a fake standing in for the service connection (the e2e test
// test/e2e/workstation-remediate-confirm.test.ts runs the real one).
import { describe, expect, it } from 'vitest';
import type { ConsoleClient } from '../../../src/client/console-client.js';
import {
  ConsoleConfirm,
  confirmTarget,
  describeFile,
  isYes,
  pinnedLine,
} from '../../../src/main/services/console-confirm.js';
import type { ConsoleItem } from '../../../src/shared/workstation/ipc-contract.js';

function fakeClient(
  answers: Record<string, Record<string, unknown>[]>,
  gate?: Promise<void>,
): { client: ConsoleClient; lines: string[] } {
  const lines: string[] = [];
  const client = {
    run(_sessionId: string, line: string, handlers: { onRecords?: (r: Record<string, unknown>[]) => void }) {
      lines.push(line);
      const outcome = (async () => {
        await gate;
        const records = answers[line.split(' ')[0] ?? ''] ?? [];
        handlers.onRecords?.(records);
        return { commandId: 'c1', status: 'completed', durationMs: 1, background: false };
      })();
      return { outcome, commandId: () => 'c1' };
    },
    cancel: () => undefined,
  } as unknown as ConsoleClient;
  return { client, lines };
}

function world(answers: Record<string, Record<string, unknown>[]> = {}, gate?: Promise<void>) {
  const items: ConsoleItem[] = [];
  const ran: string[] = [];
  const { client, lines } = fakeClient(answers, gate);
  const confirm = new ConsoleConfirm({
    sessionId: 's1',
    deviceName: 'web-01',
    client,
    add: (i) => items.push(i),
    run: (l) => ran.push(l),
  });
  return { confirm, items, ran, lines };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('console y/N before a response action', () => {
  it('asks about remediate (either form), isolate and release; not about list, undo or a line the service refuses', () => {
    expect(confirmTarget('remediate file /tmp/x')).toEqual({
      line: 'remediate file /tmp/x',
      command: 'remediate',
      type: 'file',
      target: '/tmp/x',
    });
    expect(confirmTarget('remediate -type process -id 42 -auto')).toMatchObject({ type: 'process', target: '42' });
    expect(confirmTarget('REMEDIATE file "/tmp/a b" -force &')).toMatchObject({ type: 'file', target: '/tmp/a b' });
    expect(confirmTarget('isolate')).toEqual({ line: 'isolate', command: 'isolate' });
    expect(confirmTarget('release')).toEqual({ line: 'release', command: 'release' });
    for (const line of [
      'remediate list',
      'remediate file',
      'remediate bogus /x',
      'undo file /tmp/x',
      'dir /tmp',
      'isolate now',
      'remediate file "/x',
    ])
      expect(confirmTarget(line), line).toBeNull();
  });

  it('takes only y and yes as yes', () => {
    for (const a of ['y', 'Y', 'yes', ' YES ']) expect(isYes(a), a).toBe(true);
    for (const a of ['', 'n', 'no', 'yes please', 'yy', 'ok', 'oui', 'y y']) expect(isYes(a), a).toBe(false);
  });

  it('describes a file by path, size and SHA-256, and says so when the device could not', () => {
    expect(describeFile('/tmp/x', { path: '/tmp/x', size: 5000, type: 'file', sha256: 'ab'.repeat(32) })).toEqual([
      '  path     /tmp/x',
      '  size     5000 bytes (4.9 KiB)',
      `  sha256   ${'ab'.repeat(32)}`,
    ]);
    expect(describeFile('/tmp/x', undefined, 'no such file')).toEqual([
      '  path     /tmp/x',
      '  size     ? (no such file)',
    ]);
  });

  it('shows the question after fileinfo; n declines without running, y runs the line pinned to the SHA-256 shown', async () => {
    const w = world({ fileinfo: [{ path: '/tmp/x', size: 3, sha256: 'f'.repeat(64) }] });
    expect(w.confirm.intercept('remediate file /tmp/x')).toBe(true);
    await settle();
    expect(w.lines).toEqual(['fileinfo /tmp/x -output json']);
    const question = w.items.at(-1);
    expect(question).toMatchObject({ type: 'question', prompt: 'run it? [y/N] ' });
    expect((question as { lines: string[] }).lines.join('\n')).toContain(`sha256   ${'f'.repeat(64)}`);
    expect(w.confirm.intercept('n')).toBe(true);
    expect(w.ran).toEqual([]);
    expect(w.items.at(-1)).toMatchObject({
      type: 'end',
      status: 'cancelled',
      error: 'answered "n": remediate file /tmp/x was not run, nothing was done on web-01',
    });
    // The next line is a command again.
    expect(w.confirm.intercept('dir /tmp')).toBe(false);

    w.confirm.intercept('remediate file /tmp/x');
    await settle();
    expect(w.confirm.intercept('y')).toBe(true);
    expect(w.ran).toEqual([`remediate file /tmp/x -sha256 ${'f'.repeat(64)}`]);
    expect(w.confirm.busy).toBe(false);
  });

  it('pins only a file whose hash was shown, and never appends into a redirect or after &', () => {
    const h = 'a'.repeat(64);
    expect(
      pinnedLine({
        line: 'remediate file /tmp/x -auto',
        command: 'remediate',
        type: 'file',
        target: '/tmp/x',
        sha256: h,
      }),
    ).toBe(`remediate file /tmp/x -auto -sha256 ${h}`);
    expect(pinnedLine({ line: 'remediate file /tmp/x', command: 'remediate', type: 'file', target: '/tmp/x' })).toBe(
      'remediate file /tmp/x',
    );
    expect(
      pinnedLine({ line: 'remediate process 42', command: 'remediate', type: 'process', target: '42', sha256: h }),
    ).toBe('remediate process 42');
    expect(
      pinnedLine({ line: 'remediate file /tmp/x &', command: 'remediate', type: 'file', target: '/tmp/x', sha256: h }),
    ).toBe('remediate file /tmp/x &');
    expect(
      pinnedLine({
        line: 'remediate file /tmp/x > out.txt',
        command: 'remediate',
        type: 'file',
        target: '/tmp/x',
        sha256: h,
      }),
    ).toBe('remediate file /tmp/x > out.txt');
    expect(
      pinnedLine({
        line: `remediate file /tmp/x -sha256 ${h}`,
        command: 'remediate',
        type: 'file',
        target: '/tmp/x',
        sha256: 'b'.repeat(64),
      }),
    ).toBe(`remediate file /tmp/x -sha256 ${h}`);
  });

  it('Ctrl+C while the target is read declines at once, and no question appears later', async () => {
    let open!: () => void;
    const w = world(
      { processes: [{ pid: 42, name: 'evil', cmdline: '/tmp/evil -x' }] },
      new Promise<void>((r) => (open = r)),
    );
    w.confirm.intercept('remediate process 42');
    expect(() => w.confirm.intercept('y')).toThrow(/a command is running/);
    expect(w.confirm.cancel()).toBe(true);
    expect(w.items.at(-1)).toMatchObject({
      type: 'end',
      status: 'cancelled',
      error: 'cancelled: remediate process 42 was not run, nothing was done on web-01',
    });
    open();
    await settle();
    expect(w.items.some((i) => i.type === 'question')).toBe(false);
    expect(w.ran).toEqual([]);
    expect(w.confirm.cancel()).toBe(false);
  });
});
