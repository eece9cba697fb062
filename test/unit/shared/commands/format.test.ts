import { describe, expect, it } from 'vitest';
import {
  displayWidth,
  escapeControlChars,
  formatBytes,
  formatCell,
  formatDuration,
  humanHeader,
  planTable,
  renderJson,
  renderProgress,
  renderTable,
  renderTableHeader,
  renderTableRows,
  truncateToWidth,
  wrapToWidth,
  type TableLayout,
} from '../../../../src/shared/commands/format.js';
import { formatInstant } from '../../../../src/shared/time-format.js';

/** Terminal-unsafe characters: none may survive rendering. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('escapeControlChars', () => {
  it('escapes C0, DEL and C1 controls as \\xHH', () => {
    expect(escapeControlChars('evil\u001b[2J\u0007name')).toBe('evil\\x1b[2J\\x07name');
    expect(escapeControlChars('a\nb\rc\td')).toBe('a\\x0ab\\x0dc\\x09d');
    expect(escapeControlChars('\u007f\u009b')).toBe('\\x7f\\x9b');
  });

  it('escapes bidi controls and line separators as \\uHHHH', () => {
    expect(escapeControlChars('invoice\u202etxt.exe')).toBe('invoice\\u202etxt.exe');
    expect(escapeControlChars('a\u2028b')).toBe('a\\u2028b');
  });

  it('leaves ordinary text, backslashes and non-ASCII alone', () => {
    expect(escapeControlChars('C:\\Users\\zoë\\报告')).toBe('C:\\Users\\zoë\\报告');
  });
});

describe('displayWidth and truncateToWidth', () => {
  it('counts East Asian wide characters as 2 cells and combining marks as 0', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('报告')).toBe(4);
    expect(displayWidth('ｶﾀｶﾅ')).toBe(4); // halfwidth katakana: 1 cell each
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('😀')).toBe(2);
  });

  it('cuts to a width with an ellipsis, never splitting a wide character over the limit', () => {
    expect(truncateToWidth('abcdef', 4)).toBe('abc…');
    expect(truncateToWidth('abcd', 4)).toBe('abcd');
    expect(truncateToWidth('报告报告', 4)).toBe('报…');
    expect(displayWidth(truncateToWidth('报告报告', 4))).toBeLessThanOrEqual(4);
  });
});

describe('formatCell', () => {
  it('shows null and undefined as empty, ISO instants in UTC with the zone, joins arrays', () => {
    expect(formatCell(null)).toBe('');
    expect(formatCell(undefined)).toBe('');
    expect(formatCell('2024-05-01T10:20:30.123Z')).toBe('2024-05-01 10:20:30 UTC');
    expect(formatCell('2024-05-01T10:20:30+02:00')).toBe('2024-05-01 08:20:30 UTC');
    expect(formatCell(new Date('2024-05-01T10:20:30Z'))).toBe('2024-05-01 10:20:30 UTC');
    // No zone in the text: which instant it is is unknown, so it is only shortened.
    expect(formatCell('2024-05-01T10:20:30')).toBe('2024-05-01 10:20:30');
    expect(formatCell('2024-05-01 is not a timestamp')).toBe('2024-05-01 is not a timestamp');
    expect(formatCell(['a', 'b'])).toBe('a, b');
    expect(formatCell({ a: 1 })).toBe('{"a":1}');
    expect(formatCell(12n)).toBe('12');
    expect(formatCell(false)).toBe('false');
  });
});

describe('renderTable', () => {
  it('renders 200 000 rows (no spread of the rows into a call: that overflows the stack)', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ path: `/tmp/f-${i}`, size: i }));
    const lines = renderTable(rows, ['path', 'size']).split('\n');
    expect(lines).toHaveLength(200_002);
    expect(lines[200_001]).toBe('/tmp/f-199999  199999');
  });

  const processes = [
    { pid: 1, user: 'root', name: 'systemd', rssBytes: 12_000 },
    { pid: 4242, user: 'www-data', name: 'nginx', rssBytes: null },
  ];

  it('renders a header, a rule and aligned rows, numbers right-aligned', () => {
    expect(renderTable(processes)).toBe(
      [
        ' pid  user      name     rssBytes',
        '----  --------  -------  --------',
        '   1  root      systemd     12000',
        '4242  www-data  nginx',
      ].join('\n'),
    );
  });

  it('shows only the requested columns, in order', () => {
    expect(renderTable(processes, ['name', 'pid'])).toBe(
      ['name      pid', '-------  ----', 'systemd     1', 'nginx    4242'].join('\n'),
    );
  });

  it('has no trailing spaces and no CR', () => {
    const text = renderTable([
      { a: 'x', b: '' },
      { a: 'longer value', b: null },
    ]);
    for (const line of text.split('\n')) expect(line).toBe(line.trimEnd());
    expect(text).not.toContain('\r');
  });

  const sshd = '/usr/sbin/sshd -D -o AuthorizedKeysCommand=/usr/bin/something --with-a-long-tail';

  /** The pieces of column `from`..`to` of each row line, joined: what an analyst reads down the column. */
  function column(lines: readonly string[], from: number): string {
    return lines.map((line) => line.slice(from).trimEnd()).join('');
  }

  it('never cuts a command line: it wraps within its column, every line within maxWidth', () => {
    const lines = renderTable([{ pid: 1, cmdline: sshd }], undefined, { maxWidth: 40 }).split('\n');
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(40);
    expect(lines.join('')).not.toContain('…');
    expect(lines.length).toBeGreaterThan(3);
    expect(lines[2]).toMatch(/^ {2}1 {2}\/usr\/sbin\/sshd/);
    // continuation lines are blank under pid and continue the cell in its column
    for (const line of lines.slice(3)) expect(line.startsWith('     ')).toBe(true);
    expect(column(lines.slice(2), 5)).toBe(sshd);
  });

  it('cuts the less important columns first and keeps a path on one line when that is enough', () => {
    const rows = [
      {
        category: 'cron',
        owner: 'root',
        detail: 'runs every minute as root from a world-writable folder',
        path: '/etc/cron.d/0hourly-with-a-long-name',
      },
    ];
    const lines = renderTable(rows, ['category', 'owner', 'detail', 'path'], { maxWidth: 80 }).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('/etc/cron.d/0hourly-with-a-long-name');
    expect(lines[2]).toContain('…');
    expect(displayWidth(lines[2] ?? '')).toBeLessThanOrEqual(80);
  });

  it('never cuts an instant: its date, time and zone stay whole while other columns shrink', () => {
    const rows = [
      {
        size: 25,
        mtime: '2026-12-05T13:05:24.000Z',
        owner: 'a-very-long-owner-name-here',
        path: '/tmp/persistence/etc-systemd-system-multi-user.target.wants/zz-implant.conf',
      },
    ];
    const lines = renderTable(rows, ['size', 'mtime', 'owner', 'path'], { maxWidth: 80 }).split('\n');
    expect(lines.join('\n')).toContain('2026-12-05 13:05:24 UTC');
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(80);
  });

  it('wraps several whole columns when cutting the others is not enough, keeping every character', () => {
    const rows = [
      {
        kind: 'systemd',
        name: 'evil-persistence.service',
        exec: '/opt/x/' + 'a'.repeat(90) + ' --flag=value',
        path: '/etc/systemd/system/' + 'b'.repeat(70),
      },
    ];
    const layout = planTable(rows, ['kind', 'name', 'exec', 'path'], { maxWidth: 100 });
    expect(layout).toBeDefined();
    const lines = renderTableRows(layout as TableLayout, rows);
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(100);
    const widths = (layout as TableLayout).widths;
    const start = (i: number) => widths.slice(0, i).reduce((a, w) => a + w + 2, 0);
    const cut = (i: number) =>
      lines.map((line) => line.slice(start(i), start(i) + (widths[i] ?? 0)).trimEnd()).join('');
    expect(cut(2)).toBe(rows[0]?.exec);
    expect(column(lines, start(3))).toBe(rows[0]?.path);
  });

  it('without maxWidth (a file, a pipe) shows every cell whole on one line', () => {
    const lines = renderTable([{ pid: 1, cmdline: sshd }]).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe(`  1  ${sshd}`);
  });

  it('a stream keeps the layout of its first batch: later rows neither widen nor shift a column', () => {
    const first = [{ user: 'root', size: 10, path: '/a' }];
    const layout = planTable(first, ['user', 'size', 'path'], { maxWidth: 40, human: true }) as TableLayout;
    const later = renderTableRows(layout, [
      { user: 'a-very-long-user-name', size: 12345678, path: '/srv/' + 'c'.repeat(60) },
    ]);
    const [header] = renderTableHeader(layout);
    const pathAt = header.indexOf('path');
    expect(later[0]?.slice(0, pathAt)).toMatch(/^a-v… +11\.8 MiB {2}$/);
    // the last column uses the rest of the line, then wraps; nothing is cut
    for (const line of later)
      expect(displayWidth(line)).toBeLessThanOrEqual(Math.max(40, displayWidth(later[0] ?? '')));
    expect(column(later, pathAt)).toBe('/srv/' + 'c'.repeat(60));
  });

  it('human mode names and formats units; raw mode (and JSON) keep field names and numbers', () => {
    const rows = [
      { pid: 7, rssBytes: 5 * 1024 * 1024, durationMs: 125_000, cpuTimeMs: 850, size: 1536, commandLine: 'x' },
    ];
    const human = renderTable(rows, undefined, { human: true }).split('\n');
    expect(human[0]).toMatch(/pid +memory +duration +cpu time +size +command line/);
    expect(human[2]).toMatch(/7 +5\.0 MiB +2m 05s +850 ms +1\.5 KiB +x/);
    const raw = renderTable(rows).split('\n');
    expect(raw[0]).toMatch(/rssBytes +durationMs +cpuTimeMs +size +commandLine/);
    expect(raw[2]).toContain('5242880');
    expect(humanHeader('localAddress')).toBe('local address');
  });

  it('wrapToWidth: pieces within the width whose concatenation is the text (wide characters too)', () => {
    for (const [text, width] of [
      [sshd, 13],
      ['报告报告报告报告', 5],
      ['/a/b/c/d/e/f/g/h/i/j', 4],
      ['x', 1],
      ['C:\\Windows\\System32\\drivers', 9],
    ] as const) {
      const pieces = wrapToWidth(text, width);
      expect(pieces.join('')).toBe(text);
      for (const piece of pieces) expect(displayWidth(piece)).toBeLessThanOrEqual(width);
    }
    expect(wrapToWidth('/usr/share/applications/x', 16)).toEqual(['/usr/share/', 'applications/x']);
  });

  it('aligns East Asian wide text by cells', () => {
    const text = renderTable([
      { name: '报告.pdf', size: 1 },
      { name: 'a.pdf', size: 22 },
    ]);
    const lines = text.split('\n');
    expect(lines.map(displayWidth)).toEqual([14, 14, 14, 14]);
  });

  it('escapes control characters in values and headers', () => {
    const text = renderTable([{ 'na\u001bme': 'evil\u001b]0;pwned\u0007\nnext', other: 'ok\u009b31m' }]);
    expect(text).not.toMatch(UNSAFE);
    expect(text).toContain('evil\\x1b]0;pwned\\x07\\x0anext');
    expect(text.split('\n')).toHaveLength(3);
  });

  it('shows times through the formatter it is given (the console: the zone the analyst chose)', () => {
    const records = [{ id: 'c1', startedAt: '2026-12-05T14:03:22.5Z', at: ['2026-12-05T15:00:00Z'] }];
    const table = renderTable(records, undefined, { formatTime: (iso) => formatInstant(iso, 'America/New_York') });
    expect(table.split('\n')[2]).toBe('c1  2026-12-05 09:03:22 EST (UTC-5)  2026-12-05 10:00:00 EST (UTC-5)');
    expect(renderTable(records).split('\n')[2]).toBe('c1  2026-12-05 14:03:22 UTC  2026-12-05 15:00:00 UTC');
  });

  it('renders nothing for no records', () => {
    expect(renderTable([])).toBe('');
  });
});

describe('renderJson', () => {
  it('renders a pretty JSON array that parses back', () => {
    const records = [{ name: 'a', size: 1, when: new Date('2024-05-01T10:20:30Z') }];
    const text = renderJson(records);
    expect(text).toContain('\n  {');
    expect(JSON.parse(text)).toEqual([{ name: 'a', size: 1, when: '2024-05-01T10:20:30.000Z' }]);
  });

  it('escapes C1 and bidi controls that JSON.stringify leaves raw, staying valid JSON', () => {
    const records = [{ name: 'a\u009b31mb\u202ec\u001bd', big: 10n }];
    const text = renderJson(records);
    expect(text).not.toMatch(UNSAFE);
    expect(JSON.parse(text)).toEqual([{ name: 'a\u009b31mb\u202ec\u001bd', big: '10' }]);
  });
});

describe('formatBytes and formatDuration', () => {
  it('formats sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1024 * 1024 - 1)).toBe('1.0 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
    expect(formatBytes(-2048)).toBe('-2.0 KiB');
    expect(formatBytes(Number.NaN)).toBe('?');
  });

  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(59_990)).toBe('1m 00s');
    expect(formatDuration(245_000)).toBe('4m 05s');
    expect(formatDuration(2 * 3600_000 + 3 * 60_000)).toBe('2h 03m');
    expect(formatDuration(3 * 86_400_000 + 4 * 3600_000)).toBe('3d 04h');
    expect(formatDuration(-5)).toBe('0 ms');
  });
});

describe('renderProgress', () => {
  it('draws a bar, percentage, amounts, rate and ETA within the width', () => {
    const line = renderProgress(
      { bytes: 1.5 * 1024 ** 3, total: 3 * 1024 ** 3, rateBytesPerSec: 50 * 1024 ** 2, etaSec: 31 },
      80,
    );
    const text = ' 50%  1.5 GiB / 3.0 GiB  50.0 MiB/s  ETA 31.0 s';
    const bar = 80 - text.length - 4;
    const filled = Math.floor(bar / 2);
    expect(line).toBe(`[${'#'.repeat(filled)}${'.'.repeat(bar - filled)}]  ${text}`);
    expect(line).toHaveLength(80);
  });

  it('drops the bar, then ETA and rate, when narrow', () => {
    const state = { bytes: 512, total: 1024, rateBytesPerSec: 100, etaSec: 5 };
    expect(renderProgress(state, 30)).toBe(' 50%  512 B / 1.0 KiB  100 B/s');
    expect(renderProgress(state, 5)).toBe(' 50%');
    expect(renderProgress(state, 0)).toBe('');
  });

  it('shows bytes only when the total is unknown, and clamps at 100%', () => {
    expect(renderProgress({ bytes: 2048, rateBytesPerSec: 1024 }, 80)).toBe('2.0 KiB  1.0 KiB/s');
    expect(renderProgress({ bytes: 5000, total: 1000 }, 40)).toBe(`[${'#'.repeat(14)}]  100%  4.9 KiB / 1000 B`);
  });

  it('never exceeds the width', () => {
    for (let width = 0; width < 100; width += 1) {
      const line = renderProgress(
        { bytes: 123_456_789, total: 987_654_321, rateBytesPerSec: 1_234_567, etaSec: 3_600 },
        width,
      );
      expect(displayWidth(line)).toBeLessThanOrEqual(width);
      expect(line).not.toMatch(UNSAFE);
    }
  });
});
