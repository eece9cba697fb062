// The console's pure parts: key parsing and line editing, the redraw arithmetic, and the output renderer.
import { describe, expect, it } from 'vitest';
import {
  commonPrefix,
  edit,
  EMPTY_LINE,
  parseKeys,
  redraw,
  type LineState,
} from '../../../src/renderer/src/console/line-editor.js';
import { OutputRenderer, safeText, type RenderEffects } from '../../../src/renderer/src/console/output-renderer.js';

const strip = (s: string): string => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

describe('parseKeys', () => {
  it('splits typed text, control keys and escape sequences', () => {
    expect(parseKeys('dir\r')).toEqual([{ kind: 'insert', text: 'dir' }, { kind: 'enter' }]);
    expect(parseKeys('\x1b[A\x1b[D\x1b[3~\x01\x05\x15\x0b\x17\t\x03\x1a')).toEqual(
      ['up', 'left', 'delete', 'home', 'end', 'killStart', 'killEnd', 'killWord', 'tab', 'interrupt', 'suspend'].map(
        (kind) => ({ kind }),
      ),
    );
    // A pasted line with CRLF is one Enter; bracketed-paste markers vanish.
    expect(parseKeys('\x1b[200~cd /tmp\r\n\x1b[201~')).toEqual([
      { kind: 'insert', text: 'cd /tmp' },
      { kind: 'enter' },
    ]);
  });
});

describe('edit', () => {
  const apply = (line: LineState, data: string): LineState => parseKeys(data).reduce(edit, line);
  it('inserts, moves, deletes', () => {
    let line = apply(EMPTY_LINE, 'ir /tm');
    line = apply(line, '\x01d\x05p');
    expect(line).toEqual({ text: 'dir /tmp', cursor: 8 });
    expect(apply(line, '\x7f\x7f')).toEqual({ text: 'dir /t', cursor: 6 });
    expect(apply(line, '\x1b[D\x1b[D\x1b[3~')).toEqual({ text: 'dir /tp', cursor: 6 });
  });
  it('Ctrl+U, Ctrl+K and Ctrl+W kill as readline does', () => {
    const line: LineState = { text: 'fileinfo /var/log/syslog', cursor: 17 };
    expect(edit(line, { kind: 'killStart' })).toEqual({ text: '/syslog', cursor: 0 });
    expect(edit(line, { kind: 'killEnd' })).toEqual({ text: 'fileinfo /var/log', cursor: 17 });
    expect(edit(line, { kind: 'killWord' })).toEqual({ text: 'fileinfo /var//syslog', cursor: 14 });
  });
  it('never splits a surrogate pair', () => {
    const line = apply(EMPTY_LINE, 'a😀');
    expect(edit(line, { kind: 'backspace' })).toEqual({ text: 'a', cursor: 1 });
    expect(edit(line, { kind: 'left' })).toEqual({ text: 'a😀', cursor: 1 });
  });
});

describe('redraw', () => {
  it('puts the cursor where it belongs on a wrapped line', () => {
    // prompt 5 + 20 chars on a 10-column terminal: rows 0..2; cursor at index 3 → cell 8 → row 0, col 8.
    const r = redraw('h:/> ', 5, { text: 'x'.repeat(20), cursor: 3 }, 10, 1);
    expect(r.cursorRow).toBe(0);
    expect(r.out.startsWith('\x1b[1A\r\x1b[J')).toBe(true);
    expect(r.out).toContain('\x1b[2A'); // from the end row (2) up to row 0
    expect(r.out.endsWith('\r\x1b[8C')).toBe(true);
  });
  it('forces the wrap when the line ends exactly at the last column', () => {
    const r = redraw('> ', 2, { text: 'x'.repeat(8), cursor: 8 }, 10, 0);
    expect(r.out).toContain(' \r\x1b[K');
    expect(r.cursorRow).toBe(1);
  });
  it('common prefix of candidates', () => {
    expect(commonPrefix(['/etc/ssh/', '/etc/ssl/'])).toBe('/etc/ss');
    expect(commonPrefix([])).toBe('');
  });
});

describe('OutputRenderer', () => {
  it('prints streamed record batches as one table (header once), fitted to the width', () => {
    const r = new OutputRenderer();
    const fx: RenderEffects = {};
    r.render(
      { type: 'started', commandId: 'c1', name: 'findfile', background: false, tableFields: ['size', 'path'] },
      40,
      fx,
    );
    const first = strip(r.render({ type: 'records', records: [{ size: 1, path: '/a' }] }, 40, fx));
    const second = strip(r.render({ type: 'records', records: [{ size: 22, path: '/b'.repeat(40) }] }, 40, fx));
    expect(first.split('\n')[0]).toMatch(/^ *size\s+path$/);
    expect(second).not.toContain('size');
    // the long path wraps in its column: every line fits, nothing is cut
    for (const line of second.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(39);
    expect(second).not.toContain('…');
    expect(
      second
        .split('\n')
        .map((line) => line.slice(12))
        .join(''),
    ).toBe('/b'.repeat(40));
    const end = r.render(
      { type: 'end', commandId: 'c1', status: 'completed', durationMs: 5, background: false, cwd: '/tmp' },
      40,
      fx,
    );
    expect(end).toBe('');
    expect(fx.promptBack).toEqual({ cwd: '/tmp' });
  });
  it('shows a single record without table columns as field: value lines, JSON at the end, errors in one line', () => {
    const r = new OutputRenderer();
    const fx: RenderEffects = {};
    r.render({ type: 'started', commandId: 'c2', name: 'fileinfo', background: false }, 80, fx);
    expect(r.render({ type: 'records', records: [{ path: '/etc/hostname', size: 3 }] }, 80, fx)).toBe('');
    const out = strip(r.render({ type: 'end', status: 'completed', durationMs: 1, background: false }, 80, fx));
    expect(out).toMatch(/^path\s+\/etc\/hostname\nsize\s+3\n$/);
    r.render({ type: 'started', commandId: 'c3', name: 'dir', background: false, output: 'json' }, 80, fx);
    r.render({ type: 'records', records: [{ name: 'a' }] }, 80, fx);
    expect(strip(r.render({ type: 'end', status: 'completed', durationMs: 1, background: false }, 80, fx))).toBe(
      '[\n  {\n    "name": "a"\n  }\n]\n',
    );
    expect(
      strip(
        r.render(
          { type: 'end', status: 'failed', error: 'dir: /x: no such file', durationMs: 1, background: false },
          80,
          fx,
        ),
      ),
    ).toBe('dir: /x: no such file\n');
  });
  it('escapes control characters from the device', () => {
    expect(safeText('ok\n\x1b]0;evil\x07\tx')).toBe('ok\n\\x1b]0;evil\\x07\tx');
  });
  it('draws progress in place and ends it on its own line', () => {
    const r = new OutputRenderer();
    const fx: RenderEffects = {};
    const a = r.render({ type: 'progress', bytes: 10, total: 100, rate: 5 }, 60, fx);
    const b = r.render({ type: 'progress', bytes: 50, total: 100, rate: 5 }, 60, fx);
    expect(b.startsWith('\r\x1b[2K')).toBe(true);
    expect(strip(a)).toContain('10%');
    expect(r.render({ type: 'notice', text: 'saved', tone: 'info' }, 60, fx)).toMatch(/^\r\n.*saved/);
  });
  it("keeps a stream's columns from batch to batch, human units, and redraws the last table at a new width", () => {
    const r = new OutputRenderer();
    const fx: RenderEffects = {};
    r.render(
      {
        type: 'started',
        commandId: 'c4',
        name: 'processes',
        background: false,
        tableFields: ['pid', 'user', 'rssBytes', 'cmdline'],
      },
      100,
      fx,
    );
    const first = strip(
      r.render(
        { type: 'records', records: [{ pid: 1, user: 'root', rssBytes: 2048, cmdline: '/sbin/init' }] },
        100,
        fx,
      ),
    );
    expect(fx.tableAt).toBe(0);
    const second = strip(
      r.render(
        {
          type: 'records',
          records: [
            { pid: 4242, user: 'www-data-long', rssBytes: 5 * 1024 * 1024, cmdline: '/usr/sbin/nginx -g daemon off;' },
          ],
        },
        100,
        fx,
      ),
    );
    const [header, , row1] = first.split('\n');
    expect(header).toMatch(/pid\s+user\s+memory\s+cmdline/);
    expect(row1).toContain('2.0 KiB');
    const cmdAt = (header ?? '').indexOf('cmdline');
    expect((row1 ?? '').indexOf('/sbin/init')).toBe(cmdAt);
    expect(second.indexOf('/usr/sbin/nginx')).toBe(cmdAt);
    expect(second).toContain('5.0 MiB');
    r.render({ type: 'end', status: 'completed', durationMs: 1, background: false }, 100, fx);
    const redrawn = strip(r.redrawLastTable(46) ?? '');
    const lines = redrawn.trimEnd().split('\n');
    expect(lines).toHaveLength(2 + 1 + 2);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(45);
    expect(redrawn.replace(/\s+/g, '')).toContain('/usr/sbin/nginx-gdaemonoff;');
    // something else shown after the table: no redraw any more
    r.render({ type: 'notice', text: 'saved', tone: 'info' }, 100, fx);
    expect(r.redrawLastTable(50)).toBeUndefined();
  });
});
