/**
 * Strings of a whole evidence file: a scan in bounded steps that continues where the
 * last one stopped, with a minimum run length and a filter, never holding more than one chunk.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanStrings } from '../../../src/main/cases/preview.js';
import { renderStrings } from '../../../src/shared/workstation/evidence-preview.js';

let dir: string;
let file: string;
let content: Buffer;
const MIB = 1024 * 1024;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lr-strings-'));
  file = path.join(dir, 'blob.bin');
  const zeros = (n: number): Buffer => Buffer.alloc(n);
  // A string across the first 1 MiB chunk boundary, short and long ones, one near the end of 5 MiB.
  content = Buffer.concat([
    Buffer.from('FIRST-STRING\0'),
    zeros(MIB - 13 - 6),
    Buffer.from('ACROSS-THE-BOUNDARY\0'),
    Buffer.from('tiny\0'),
    Buffer.from('abcdefghij\0'),
    zeros(4 * MIB),
    Buffer.from('needle at the end\0'),
  ]);
  writeFileSync(file, content);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (n: number): string => n.toString(16).padStart(8, '0');

describe('strings over the whole file', () => {
  it('finds every string from the start to the end, a run across a chunk boundary whole', async () => {
    const all = await scanStrings(file, 0);
    expect(all.lines).toEqual([
      `${hex(0)}  FIRST-STRING`,
      `${hex(content.indexOf('ACROSS'))}  ACROSS-THE-BOUNDARY`,
      `${hex(content.indexOf('tiny'))}  tiny`,
      `${hex(content.indexOf('abcdefghij'))}  abcdefghij`,
      `${hex(content.indexOf('needle'))}  needle at the end`,
    ]);
    expect(all.nextOffset).toBeUndefined();
    expect(all.offset + all.length).toBe(content.length);
  });

  it('filters (ASCII case-insensitive) and applies the minimum length', async () => {
    expect((await scanStrings(file, 0, { filter: 'NEEDLE' })).lines).toEqual([
      `${hex(content.indexOf('needle'))}  needle at the end`,
    ]);
    const long = await scanStrings(file, 0, { minLength: 11 });
    expect(long.lines.map((l) => l.slice(10))).toEqual(['FIRST-STRING', 'ACROSS-THE-BOUNDARY', 'needle at the end']);
    expect(renderStrings(Buffer.from('ab\0abc\0'), 0, true, { minLength: 2 }).lines).toEqual([
      '00000000  ab',
      '00000003  abc',
    ]);
  });

  it('stops after a bounded number of bytes or lines and goes on from there', async () => {
    const first = await scanStrings(file, 0, { maxBytes: MIB / 2 }); // a whole chunk is read, then it stops
    expect(first.lines.map((l) => l.slice(10))).toEqual(['FIRST-STRING']);
    expect(first.nextOffset).toBe(content.indexOf('ACROSS')); // the run cut by the chunk's end is read again whole
    const two = await scanStrings(file, 0, { maxLines: 2 });
    expect(two.lines.map((l) => l.slice(10))).toEqual(['FIRST-STRING', 'ACROSS-THE-BOUNDARY']);
    const rest = await scanStrings(file, two.nextOffset ?? -1, { maxLines: 2 });
    expect(rest.lines.map((l) => l.slice(10))).toEqual(['tiny', 'abcdefghij']);
    const last = await scanStrings(file, rest.nextOffset ?? -1);
    expect(last.lines.map((l) => l.slice(10))).toEqual(['needle at the end']);
    expect(last.nextOffset).toBeUndefined();
  });
});
