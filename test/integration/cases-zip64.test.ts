// Zip64. Zip64 is about offsets and counts, not size: a small case rewritten with zip64 records
// everywhere (the zip64 extra field of every header, zip64 data descriptors, the zip64 end record and its
// locator) checks the import's zip64 reading on every run. The real thing, a case holding evidence past
// 4 GiB exported as zip64 and imported verified, moves ~13 GB through the disk (the export, the import's
// staging and store), ~3 minutes on a 2-core machine, so it runs only with LR_BIG_TESTS=1.
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CasesService } from '../../src/main/services/cases.js';
import { createEventHub } from '../../src/main/services/events.js';
import { entriesOf, membersOf, zipOf } from '../zip-members.js';

const BIG = process.env.LR_BIG_TESTS === '1';

const root = mkdtempSync(path.join(tmpdir(), 'lr-cases-zip64-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ZIP64_END_RECORD = 0x06064b50;
const ZIP64_END_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_FIELD = 0x0001;
const DESCRIPTOR_SIGNATURE = 0x08074b50;

describe('zip64 case import (small, every run)', () => {
  const evidenceBytes = Buffer.from(`${'MZ'.padEnd(4096, '\x90')}zip64 marker at the end`);
  let zip64: Buffer;
  let stores = 0;
  const fresh = () =>
    new CasesService({ dir: path.join(root, `small-${stores++}`, 'cases'), events: createEventHub() });

  it('imports a small case whose zip has zip64 records everywhere, verified', async () => {
    mkdirSync(path.join(root, 'downloads'), { recursive: true });
    const file = path.join(root, 'downloads', 'small.bin');
    writeFileSync(file, evidenceBytes);
    const source = fresh();
    const item = await source.addEvidence(file, {
      kind: 'getfile',
      name: 'small.bin',
      deviceId: 'd',
      deviceName: 'web01',
      originalPath: '/tmp/small.bin',
      analyst: 'alice',
      fileTimes: {},
    });
    source.createNote({ caseId: item.caseId, title: 'n', body: 'zip64 note' });
    source.addTranscript({
      sessionId: 's',
      deviceId: 'd',
      deviceName: 'web01',
      commandId: 'c1',
      line: 'dir /tmp',
      output: 'small.bin\n',
      status: 'completed',
      analyst: 'alice',
      startedAt: 't0',
      endedAt: 't1',
    });
    const members = await membersOf(readFileSync((await source.export(item.caseId)).path));
    source.close();
    zip64 = await zipOf(members, { zip64: true });

    // The zip really is zip64: the end record and its locator, the extra field in every entry.
    const end = zip64.length - 22;
    expect(zip64.readUInt32LE(end - 20)).toBe(ZIP64_END_LOCATOR);
    expect(zip64.readUInt32LE(Number(zip64.readBigUInt64LE(end - 20 + 8)))).toBe(ZIP64_END_RECORD);
    const entries = await entriesOf(zip64);
    expect(entries).toHaveLength(members.length);
    for (const entry of entries)
      expect(
        entry.extraFields.map((f) => f.id),
        entry.fileName,
      ).toContain(ZIP64_EXTRA_FIELD);

    const target = fresh();
    writeFileSync(path.join(root, 'zip64.zip'), zip64);
    const imported = await target.importFile(path.join(root, 'zip64.zip'));
    expect(imported).toMatchObject({ ok: true, verified: members.length, problems: [] });
    expect(target.evidence(imported.caseId!)).toMatchObject([
      { sha256: item.sha256, sha1: item.sha1, md5: item.md5, size: evidenceBytes.length },
    ]);
    expect(target.notes(imported.caseId!).map((n) => n.body)).toEqual(['zip64 note']);
    expect(target.transcripts(imported.caseId!, 0, 10).total).toBe(1);
    target.close();
  });

  it('refuses a member whose zip64 data descriptor claims a size past 4 GiB, naming it, and adds nothing', async () => {
    const data = zip64.indexOf(evidenceBytes);
    const descriptor = data + evidenceBytes.length;
    expect(zip64.readUInt32LE(descriptor)).toBe(DESCRIPTOR_SIGNATURE);
    const changed = Buffer.from(zip64);
    changed[descriptor + 4 + 4 + 8 + 4] = 1; // the uncompressed size's 2^32 byte: 4 GiB more than the data
    writeFileSync(path.join(root, 'zip64-descriptor.zip'), changed);
    const target = fresh();
    const result = await target.importFile(path.join(root, 'zip64-descriptor.zip'));
    const member = (await entriesOf(zip64)).find((e) => e.fileName.startsWith('evidence/'))!.fileName;
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { file: member, problem: 'its data descriptor does not match the central directory (CRC or sizes changed)' },
    ]);
    expect(target.list()).toEqual([]);
    target.close();
  });
});

describe('zip64 case export (big)', () => {
  it.skipIf(!BIG)(
    `exports and imports a 4.3 GB evidence file, verified${BIG ? '' : ' (skipped: set LR_BIG_TESTS=1; moves ~13 GB through the disk, ~3 minutes)'}`,
    async () => {
      mkdirSync(path.join(root, 'downloads'));
      const file = path.join(root, 'downloads', 'disk.img');
      const size = 4 * 1024 ** 3 + 300 * 1024 ** 2;
      const fd = openSync(file, 'w');
      // Sparse with markers at both ends, so the bytes past 4 GiB are checked too.
      writeSync(fd, Buffer.from('START OF IMAGE'), 0, 14, 0);
      writeSync(fd, Buffer.from('END OF IMAGE'), 0, 12, size - 12);
      closeSync(fd);
      const source = new CasesService({ dir: path.join(root, 'a', 'cases'), events: createEventHub() });
      const item = await source.addEvidence(file, {
        kind: 'getfile',
        name: 'disk.img',
        deviceId: 'd',
        deviceName: 'web01',
        originalPath: '/dev/sda',
        analyst: 'alice',
        fileTimes: {},
      });
      expect(item.size).toBe(size);
      const exported = await source.export(item.caseId);
      expect(statSync(exported.path).size).toBeGreaterThan(size);
      source.close();
      rmSync(path.join(root, 'a', 'cases', 'evidence'), { recursive: true, force: true });

      const target = new CasesService({ dir: path.join(root, 'b', 'cases'), events: createEventHub() });
      const result = await target.importFile(exported.path);
      expect(result).toMatchObject({ ok: true, problems: [] });
      const [imported] = target.evidence(result.caseId!);
      expect(imported).toMatchObject({ sha256: item.sha256, sha1: item.sha1, md5: item.md5, size });
      const tail = await target.preview(imported!.id, 'text', size - 12, 12);
      expect(tail.lines).toEqual(['END OF IMAGE']);
      expect(readdirSync(path.join(root, 'b', 'cases', 'tmp'))).toEqual([]);
      target.close();
    },
    20 * 60_000,
  );
});
