import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noMatchNotice } from '../../../src/main/services/no-match.js';
import { OutputOverflow, settleOutput } from '../../../src/main/services/output-overflow.js';
import { TranscriptCapture } from '../../../src/main/services/transcript-capture.js';

const SMALL = { lines: 100, transcriptChars: 1_000_000, logBytes: 1_000_000 };

describe('OutputOverflow', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lr-overflow-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function findfile(o: OutputOverflow, rows: number, batch = 37): void {
    o.add({
      type: 'started',
      commandId: 'c1',
      name: 'findfile',
      background: false,
      output: 'table',
      tableFields: ['size', 'mtime', 'path'],
    });
    for (let i = 0; i < rows; i += batch) {
      const records = Array.from({ length: Math.min(batch, rows - i) }, (_, j) => ({
        size: i + j,
        mtime: '2026-01-01T00:00:00Z',
        path: `/srv/data/${'d'.repeat((i + j) % 50)}/file-${i + j}.log`,
      }));
      o.add({ type: 'records', records });
    }
  }

  it('counts a batch from its JSON (as the console passes it) exactly as record by record: the limits fall on the same byte', () => {
    const records = [
      { path: '/données/été/файл.log', size: 1 },
      { path: 'plain', size: 22 },
      { note: '😀 "quoted"\n' },
    ];
    const perRecord = records.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)) + 1, 0);
    const chars = records.reduce((sum, r) => sum + JSON.stringify(r).length, 0);
    for (const [limits, spills] of [
      [{ lines: 100, transcriptChars: 1_000_000, logBytes: perRecord }, false],
      [{ lines: 100, transcriptChars: 1_000_000, logBytes: perRecord - 1 }, true],
      [{ lines: 100, transcriptChars: chars, logBytes: 1_000_000 }, false],
      [{ lines: 100, transcriptChars: chars - 1, logBytes: 1_000_000 }, true],
    ] as const) {
      for (const json of [JSON.stringify(records), undefined]) {
        const o = new OutputOverflow(dir, 'findfile', limits);
        o.add({ type: 'records', records: [] }, '[]');
        o.add({ type: 'records', records }, json);
        expect(o.spilled).toBe(spills);
        o.discard();
      }
    }
  });

  it('writes nothing for an output the console keeps', () => {
    const o = new OutputOverflow(dir, 'findfile', SMALL);
    findfile(o, 90);
    expect(o.finish()).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('past the scrollback, saves every row (the held ones and the later ones) as one table, raw values', () => {
    const o = new OutputOverflow(dir, 'findfile', SMALL);
    findfile(o, 1234);
    const full = o.finish();
    expect(full).toBeDefined();
    expect(full?.rows).toBe(1234);
    expect(full?.cuts.join()).toMatch(/the console keeps the last 10,000 lines/);
    expect(full?.name).toMatch(/^findfile-.*-full-output\.txt$/);
    const lines = readFileSync(full?.file ?? '', 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines).toHaveLength(1234 + 2);
    expect(lines[0]).toMatch(/^ *size +mtime +path$/);
    expect(lines[2]).toMatch(/^ *0 +2026-01-01 00:00:00 UTC +\/srv\/data\/\/file-0\.log$/);
    expect(lines.at(-1)).toContain(`/file-1233.log`);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('past the command log limit (bytes, not lines), says what the log keeps; -output json saves JSON lines', () => {
    const o = new OutputOverflow(dir, 'dir', { lines: 1e9, transcriptChars: 1e9, logBytes: 2000 });
    o.add({ type: 'started', commandId: 'c2', name: 'dir', background: false, output: 'json' });
    for (let i = 0; i < 200; i++) o.add({ type: 'records', records: [{ name: `f${i}`, size: i }] });
    const full = o.finish();
    expect(full?.cuts).toEqual([expect.stringMatching(/the command log the first 2 KiB/)]);
    const lines = readFileSync(full?.file ?? '', 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(
      Array.from({ length: 200 }, (_, i) => ({ name: `f${i}`, size: i })),
    );
  });

  it('settleOutput stores the file and prints a footer: the row count and what was cut, then the evidence name', async () => {
    const o = new OutputOverflow(dir, 'findfile', SMALL);
    findfile(o, 500);
    const notices: string[] = [];
    const stored: string[] = [];
    await settleOutput({
      overflow: o,
      line: 'findfile "*.log" -path /srv',
      platform: 'linux',
      status: 'completed',
      background: false,
      store: (file, name) => {
        stored.push(file);
        return Promise.resolve({ name, sha256: 'ab'.repeat(32) });
      },
      notice: (text) => notices.push(text),
    });
    expect(stored).toHaveLength(1);
    expect(notices).toEqual([
      '500 rows of output: the console keeps the last 10,000 lines',
      expect.stringMatching(
        /^the full output was saved as evidence findfile-.*-full-output\.txt in the active case \(sha256 abab/,
      ),
    ]);
  });

  it('a discarded (backgrounded) output leaves no file', async () => {
    const o = new OutputOverflow(dir, 'findfile', SMALL);
    findfile(o, 500);
    await settleOutput({
      overflow: o,
      line: 'findfile x',
      platform: 'linux',
      status: 'running',
      background: true,
      notice: () => undefined,
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a search that found nothing says so', async () => {
    const notices: string[] = [];
    const o = new OutputOverflow(dir, 'findfile', SMALL);
    o.add({
      type: 'started',
      commandId: 'c1',
      name: 'findfile',
      background: false,
      output: 'table',
      tableFields: ['size', 'mtime', 'path'],
    });
    await settleOutput({
      overflow: o,
      line: 'findfile "*.xyz" -path /tmp',
      platform: 'linux',
      status: 'completed',
      background: false,
      notice: (t) => notices.push(t),
    });
    expect(notices).toEqual(['no match for *.xyz under /tmp']);
    expect(noMatchNotice('findfile x.exe', 'win32')).toBe('no match for x.exe under every fixed drive');
    expect(noMatchNotice('findfile x', 'linux')).toBe('no match for x under /');
    expect(noMatchNotice('processes -name sshd', 'linux')).toBe('no process named sshd');
    expect(noMatchNotice('dir /empty', 'linux')).toBe('/empty is empty');
    expect(noMatchNotice('cd /tmp', 'linux')).toBeUndefined();
  });
});

describe('TranscriptCapture footer', () => {
  it('keeps a notice that comes after the cut, at the end and within the cap', () => {
    const capture = new TranscriptCapture(1000);
    capture.add({ type: 'text', text: 'x'.repeat(2000) });
    capture.add({
      type: 'notice',
      text: '172,000 rows of output; the full output was saved as evidence f.txt',
      tone: 'warn',
    });
    const { output, truncated } = capture.finish();
    expect(truncated).toBe(true);
    expect(output.length).toBeLessThanOrEqual(1000);
    expect(output.trimEnd().split('\n').at(-1)).toBe(
      '172,000 rows of output; the full output was saved as evidence f.txt',
    );
  });
});
