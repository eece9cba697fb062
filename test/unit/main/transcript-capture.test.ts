import { describe, expect, it } from 'vitest';
import { TranscriptCapture } from '../../../src/main/services/transcript-capture.js';

describe('TranscriptCapture', () => {
  it('renders records as one table with the command fields, then text and notices in order', () => {
    const capture = new TranscriptCapture();
    capture.add({
      type: 'started',
      commandId: 'c1',
      name: 'processes',
      background: false,
      output: 'table',
      tableFields: ['pid', 'name'],
    });
    capture.add({ type: 'records', records: [{ pid: 1, name: 'init', extra: 'x' }] });
    capture.add({ type: 'records', records: [{ pid: 22, name: 'sshd' }] });
    capture.add({ type: 'notice', text: 'done', tone: 'info' });
    capture.add({ type: 'progress', bytes: 1, total: 2, rate: 1 });
    const { output, truncated } = capture.finish();
    expect(truncated).toBe(false);
    const lines = output.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s*pid\s+name$/);
    expect(lines.filter((l) => /^\s*pid/.test(l))).toHaveLength(1);
    expect(lines.slice(-3)).toEqual([
      expect.stringMatching(/^\s*1\s+init$/),
      expect.stringMatching(/^\s*22\s+sshd$/),
      'done',
    ]);
    expect(output).not.toContain('extra');
  });

  it('renders JSON when the command asked for it', () => {
    const capture = new TranscriptCapture();
    capture.add({ type: 'started', commandId: 'c1', name: 'dir', background: false, output: 'json' });
    capture.add({ type: 'records', records: [{ name: 'a' }] });
    expect(JSON.parse(capture.finish().output)).toEqual([{ name: 'a' }]);
  });

  it('keeps at most the cap and says it was cut', () => {
    const capture = new TranscriptCapture(100);
    capture.add({ type: 'text', text: 'x'.repeat(60) });
    capture.add({ type: 'text', text: 'y'.repeat(60) });
    capture.add({ type: 'text', text: 'z'.repeat(10) });
    const { output, truncated } = capture.finish();
    expect(truncated).toBe(true);
    expect(output).toBe('x'.repeat(60) + 'y'.repeat(40));
  });

  it('stops collecting records once they pass the cap (bounded memory on a flood)', () => {
    const capture = new TranscriptCapture(10_000);
    capture.add({
      type: 'started',
      commandId: 'c1',
      name: 'dir',
      background: false,
      output: 'table',
      tableFields: ['name'],
    });
    for (let i = 0; i < 1000; i++) capture.add({ type: 'records', records: [{ name: `file-${i}-${'p'.repeat(40)}` }] });
    const { output, truncated } = capture.finish();
    expect(truncated).toBe(true);
    expect(output.length).toBeLessThanOrEqual(10_000);
    expect(output).toContain('file-0-');
    expect(output).not.toContain('file-999-');
  });
});
