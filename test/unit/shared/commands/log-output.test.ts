/** The Log page's output, rendered as the console renders it. */
import { describe, expect, it } from 'vitest';
import { logOutputText, renderLogOutput, splitLogOutput } from '../../../../src/shared/commands/log-output.js';

describe('the command log output, shown again', () => {
  it('splits stored text from record batches and merges consecutive batches', () => {
    const stored = 'starting\n[{"a":1}]\n[{"a":2}]\ndone\n';
    expect(splitLogOutput(stored)).toEqual([
      { kind: 'text', text: 'starting\n' },
      { kind: 'records', records: [{ a: 1 }, { a: 2 }] },
      { kind: 'text', text: 'done\n' },
    ]);
  });

  it('renders records as the command table, with its columns and a rule, never cut', () => {
    const path = `/var/lib/${'deep/'.repeat(40)}x.service`;
    const [part] = renderLogOutput(
      'dir /etc',
      `[{"name":"x.service","path":"${path}","type":"file","size":1,"mode":"-rw-r--r--","owner":"root","group":"root","mtime":"2026-01-01T00:00:00Z","linkTarget":null}]\n`,
    );
    expect(part?.kind).toBe('text');
    const text = part?.kind === 'text' ? part.text : '';
    expect(text.split('\n')[1]).toMatch(/^-+( +-+)+$/);
    expect(text).not.toContain('…');
  });

  it('shows the console headers and units, and times through the formatter it is given', () => {
    const stored =
      '[{"pid":1,"ppid":0,"user":"root","state":"sleeping","rssBytes":10485760,"name":"init","cmdline":"/sbin/init"},{"pid":2,"ppid":0,"user":"root","state":"sleeping","rssBytes":0,"name":"kthreadd","cmdline":""}]\n';
    const [part] = renderLogOutput('processes', stored);
    const text = part?.kind === 'text' ? part.text : '';
    expect(text.split('\n')[0]).toMatch(/\bmemory\b/);
    expect(text).toContain('10.0 MiB');
    const [timed] = renderLogOutput(
      'dir /x',
      '[{"name":"a","mtime":"2026-01-01T00:00:00Z"},{"name":"b","mtime":"2026-01-01T00:00:01Z"}]\n',
      (iso) => `<${iso}>`,
    );
    expect(timed?.kind === 'text' ? timed.text : '').toContain('<2026-01-01T00:00:00Z>');
  });

  it('renders -output json as pretty JSON, and a single record as its fields', () => {
    const json = renderLogOutput('dir /etc -output json', '[{"name":"passwd"}]\n');
    expect(json).toEqual([{ kind: 'text', text: '[\n  {\n    "name": "passwd"\n  }\n]\n' }]);
    const single = renderLogOutput('fileinfo /etc/hostname', '[{"path":"/etc/hostname","size":5}]\n');
    expect(single).toEqual([
      {
        kind: 'fields',
        fields: [
          ['path', '/etc/hostname'],
          ['size', '5'],
        ],
      },
    ]);
    expect(logOutputText(single)).toBe('path  /etc/hostname\nsize  5\n');
  });

  it('shows control characters from a device escaped, and a cut-off batch as text', () => {
    expect(renderLogOutput('run x.sh', 'a\x1b[2Jb\tc\n')).toEqual([{ kind: 'text', text: 'a\\x1b[2Jb\tc\n' }]);
    // The log's limit cut the last batch: its end is not JSON, so it stays text.
    expect(renderLogOutput('dir /', '[{"name":"a"}]\n[{"name":"b"')[1]).toEqual({ kind: 'text', text: '[{"name":"b"' });
  });
});
