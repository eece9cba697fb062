// The case store's records and search (src/main/cases, src/main/services/cases.ts), on a real SQLite
// database in a temp folder.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCaseDb, schemaVersion } from '../../../src/main/cases/case-db.js';
import { MAX_TRANSCRIPT_OUTPUT_CHARS, untitledCaseTitle } from '../../../src/main/cases/case-store.js';
import { foldToken, MAX_PREFIX_TERMS, toFtsQuery } from '../../../src/main/cases/fts-query.js';
import { MIGRATIONS } from '../../../src/main/cases/migrations/index.js';
import { searchOutputFiles } from '../../../src/main/cases/output-search.js';
import type { TranscriptInput } from '../../../src/main/cases/recorder.js';
import { CasesService } from '../../../src/main/services/cases.js';
import { createEventHub } from '../../../src/main/services/events.js';
import type { LrEvent } from '../../../src/shared/workstation/ipc-contract.js';

let root: string;
let events: LrEvent[];
let service: CasesService;

function open(): CasesService {
  const hub = createEventHub();
  hub.subscribe((e) => events.push(e));
  return new CasesService({ dir: path.join(root, 'cases'), events: hub });
}

function transcript(over: Partial<TranscriptInput> = {}): TranscriptInput {
  const at = new Date().toISOString();
  return {
    sessionId: 'sess1',
    deviceId: 'dev1',
    deviceName: 'web01',
    commandId: 'cmd1',
    line: 'processes',
    output: 'PID NAME\n1 systemd\n',
    status: 'completed',
    analyst: 'alice',
    startedAt: at,
    endedAt: at,
    ...over,
  };
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lr-cases-store-'));
  events = [];
  service = open();
});

afterEach(() => {
  service.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the case database', () => {
  it('runs its migrations once, records the schema version, and refuses a newer database', () => {
    const file = path.join(root, 'x.db');
    const db = openCaseDb(file);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
    const again = openCaseDb(file);
    expect(again.prepare('SELECT count(*) FROM schema_version').pluck().get()).toBe(MIGRATIONS.length);
    again.close();
    const raw = new Database(file);
    raw.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(MIGRATIONS.length + 1, 'later');
    raw.close();
    expect(() => openCaseDb(file)).toThrow(/newer than this workstation knows/);
  });

  it('throws "no app data folder" for every call without a folder', async () => {
    const none = new CasesService({ dir: undefined, events: createEventHub() });
    expect(() => none.list()).toThrow('no app data folder');
    expect(() => none.search('x')).toThrow('no app data folder');
    await expect(none.verify('abc')).rejects.toThrow('no app data folder');
  });
});

describe('cases', () => {
  it('creates a case as the active one, renames, closes (which deactivates) and reactivates', () => {
    const a = service.create('  Phishing on web01 ');
    expect(a).toMatchObject({
      title: 'Phishing on web01',
      status: 'open',
      active: true,
      counts: { notes: 0, evidence: 0, transcripts: 0 },
    });
    expect(a.id).toMatch(/^[A-Za-z0-9_-]+$/);
    const b = service.create('Second');
    expect(
      service
        .list()
        .filter((c) => c.active)
        .map((c) => c.id),
    ).toEqual([b.id]);
    expect(service.activate(a.id).active).toBe(true);
    expect(
      service
        .list()
        .filter((c) => c.active)
        .map((c) => c.id),
    ).toEqual([a.id]);
    expect(service.update(a.id, { title: 'Renamed' }).title).toBe('Renamed');
    const closed = service.update(a.id, { status: 'closed' });
    expect(closed).toMatchObject({ status: 'closed', active: false });
    expect(() => service.activate(a.id)).toThrow(/is closed/);
    service.update(a.id, { status: 'open' });
    expect(service.activate(a.id).active).toBe(true);
    expect(events.filter((e) => e.type === 'cases.changed').length).toBeGreaterThanOrEqual(5);
  });

  it('names unknown ids in one-line errors', async () => {
    expect(() => service.update('nope', { title: 'x' })).toThrow('no case nope');
    expect(() => service.activate('nope')).toThrow('no case nope');
    expect(() => service.notes('nope')).toThrow('no case nope');
    expect(() => service.transcripts('nope')).toThrow('no case nope');
    expect(() => service.evidence('nope')).toThrow('no case nope');
    expect(() => service.search('x', 'nope')).toThrow('no case nope');
    expect(() => service.transcript('nope')).toThrow('no transcript entry nope');
    expect(() => service.transcriptByCommand('nope')).toThrow('no transcript of command nope');
    expect(() => service.evidenceItem('nope')).toThrow('no evidence nope');
    expect(() => service.saveNote({ id: 'nope', title: '', body: '' })).toThrow('no note nope');
    await expect(service.export('nope')).rejects.toThrow('no case nope');
    await expect(service.preview('nope', 'hex')).rejects.toThrow('no evidence nope');
    expect(() => service.create('   ')).toThrow(/must not be empty/);
  });

  it('opens an "Untitled case" for a transcript when no case is active, and keeps using it', () => {
    const first = service.addTranscript(transcript());
    const [auto] = service.list();
    expect(auto).toMatchObject({ id: first.caseId, active: true, counts: { transcripts: 1 } });
    expect(auto!.title).toMatch(/^Untitled case \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
    const second = service.addTranscript(transcript({ commandId: 'cmd2' }));
    expect(second.caseId).toBe(first.caseId);
    expect(events).toContainEqual({ type: 'cases.changed', caseId: first.caseId });
    expect(untitledCaseTitle(new Date(Date.UTC(2025, 2, 4, 9, 5)))).toBe('Untitled case 2025-03-04 09:05 UTC');
  });

  it('survives a reopen (the data is on disk)', () => {
    const kase = service.create('Persistent');
    service.createNote({ caseId: kase.id, title: 'n', body: 'b' });
    service.close();
    service = open();
    expect(service.list()).toMatchObject([{ id: kase.id, active: true, counts: { notes: 1 } }]);
  });
});

describe('transcripts', () => {
  it('keeps every command as shown, pages them, and finds one by command id', () => {
    const kase = service.create('T');
    for (let i = 0; i < 5; i++)
      service.addTranscript(transcript({ commandId: `c${i}`, line: `dir /tmp/${i}`, output: `out ${i}\n` }));
    service.addTranscript(
      transcript({
        commandId: undefined,
        line: 'bogus',
        output: '',
        status: 'refused',
        error: 'unknown command bogus',
      }),
    );
    const page = service.transcripts(kase.id, 2, 2);
    expect(page.total).toBe(6);
    expect(page.items.map((t) => t.line)).toEqual(['dir /tmp/2', 'dir /tmp/3']);
    expect(page.items[0]).not.toHaveProperty('output');
    const entry = service.transcriptByCommand('c3');
    expect(entry).toMatchObject({
      line: 'dir /tmp/3',
      output: 'out 3\n',
      caseId: kase.id,
      deviceName: 'web01',
      analyst: 'alice',
      outputTruncated: false,
      outputChars: 6,
    });
    expect(service.transcript(entry.id).id).toBe(entry.id);
    // Its place in the case's list, for the viewer to scroll to it.
    expect(entry.position).toBe(3);
    expect(service.transcript(service.transcripts(kase.id, 5, 1).items[0]!.id).position).toBe(5);
    expect(service.transcripts(kase.id, 5, 10).items[0]).toMatchObject({
      status: 'refused',
      error: 'unknown command bogus',
      commandId: undefined,
    });
  });

  it('caps the output at 1 MiB of text with a last line saying what the command log keeps (not "all of it")', () => {
    service.create('Big');
    const big = service.addTranscript(
      transcript({ commandId: 'bigcmd', output: 'x'.repeat(MAX_TRANSCRIPT_OUTPUT_CHARS + 5000) }),
    );
    expect(big).toMatchObject({ outputTruncated: true, outputChars: MAX_TRANSCRIPT_OUTPUT_CHARS });
    const entry = service.transcript(big.id);
    expect(entry.output.length).toBeLessThan(MAX_TRANSCRIPT_OUTPUT_CHARS + 200);
    expect(entry.output.trimEnd().split('\n').at(-1)).toMatch(
      /command bigcmd in the command log keeps the first part of the output \(the service's per-command limit, 1 MiB by default\)/,
    );
    // A caller that already cut the output says so; the entry is flagged the same way.
    const cut = service.addTranscript(transcript({ commandId: 'cut', output: 'abc', outputTruncated: true }));
    expect(cut.outputTruncated).toBe(true);
    expect(service.transcript(cut.id).output).toMatch(/^abc\n\[transcript cut/);
  });
});

describe('notes', () => {
  it('creates, autosaves (one UPDATE, durable), relinks and deletes notes', () => {
    const kase = service.create('Notes');
    const note = service.createNote({ caseId: kase.id, title: 'Timeline', body: 'first', commandId: 'cmd9' });
    expect(note).toMatchObject({ caseId: kase.id, title: 'Timeline', body: 'first', commandId: 'cmd9' });
    const saved = service.saveNote({ id: note.id, title: 'Timeline', body: 'first words typed' });
    expect(saved.id).toBe(note.id);
    expect(service.notes(kase.id)[0]).toMatchObject({
      body: 'first words typed',
      commandId: 'cmd9',
      updatedAt: saved.updatedAt,
    });
    service.saveNote({ id: note.id, title: 'Timeline', body: 'x', commandId: null });
    expect(service.notes(kase.id)[0]!.commandId).toBeUndefined();
    expect(service.list()[0]!.updatedAt >= saved.updatedAt).toBe(true);
    // Another connection sees the save at once: it is committed when saveNote returns.
    const other = new Database(path.join(root, 'cases', 'cases.db'), { readonly: true });
    expect(other.prepare('SELECT body FROM notes WHERE id = ?').pluck().get(note.id)).toBe('x');
    other.close();
    expect(service.deleteNote(note.id)).toBe(true);
    expect(service.deleteNote(note.id)).toBe(false);
    expect(service.notes(kase.id)).toEqual([]);
    expect(service.search('timeline').hits).toEqual([]);
  });

  it('refuses a link to evidence of another case and oversized notes', () => {
    const kase = service.create('A');
    expect(() => service.createNote({ caseId: kase.id, evidenceId: 'nope' })).toThrow('no evidence nope');
    expect(() => service.createNote({ caseId: kase.id, body: 'x'.repeat(200_001) })).toThrow(
      /at most 200000 characters/,
    );
  });
});

describe('search', () => {
  it('finds a word in a transcript output and in a note, with « » around the matches', () => {
    const a = service.create('Case A');
    service.addTranscript(
      transcript({
        commandId: 'cA',
        line: 'findfile -name beacon',
        output: 'C:\\Users\\bob\\AppData\\beacon.dll  412 KB\n',
      }),
    );
    service.createNote({ caseId: a.id, title: 'Lateral movement', body: 'The beacon talked to 10.0.0.5 over SMB.' });
    const b = service.create('Case B');
    service.createNote({ caseId: b.id, title: 'Other', body: 'nothing about it' });
    const started = performance.now();
    const result = service.search('beacon');
    const wall = performance.now() - started;
    // The time the search says it took is measured: more than nothing, at most what the call took.
    expect(result.tookMs).toBeGreaterThan(0);
    expect(result.tookMs).toBeLessThanOrEqual(wall + 0.01);
    expect(result.hits.map((h) => h.kind).sort()).toEqual(['note', 'transcript']);
    const hit = result.hits.find((h) => h.kind === 'transcript')!;
    expect(hit).toMatchObject({ caseId: a.id, caseTitle: 'Case A', title: 'findfile -name beacon', commandId: 'cA' });
    expect(hit.snippet).toContain('«beacon»');
    // Prefix on the last word, all words required, diacritics folded, scoped to a case.
    expect(service.search('lateral mov').hits).toHaveLength(1);
    expect(service.search('beacon nothing').hits).toHaveLength(0);
    expect(service.search('BÉACON').hits).toHaveLength(2);
    expect(service.search('beacon', b.id).hits).toHaveLength(0);
    expect(service.search('beacon', a.id, 1).hits).toHaveLength(1);
  });

  it('never throws on hostile input', () => {
    const kase = service.create('Hostile');
    service.createNote({ caseId: kase.id, title: 'near', body: 'AND OR NOT "quoted" col:value a*b (paren) 😀 -dash' });
    const inputs = [
      '"',
      '""',
      '*',
      'NEAR(',
      'NEAR(a b',
      'AND OR',
      'AND',
      'OR NOT',
      '-',
      '-dash',
      ':',
      'col:value',
      '😀',
      '^a',
      'a"b',
      '(',
      ')',
      '{a}',
      "'",
      '\\',
      '\u0000',
      'a'.repeat(500),
      'x '.repeat(250),
      '+',
      'title:near',
      'NOT near',
    ];
    for (const text of inputs) expect(() => service.search(text), text).not.toThrow();
    expect(service.search('"quoted"').hits).toHaveLength(1);
    expect(service.search('col:value').hits).toHaveLength(1);
    expect(service.search('NEAR(').hits).toHaveLength(1);
    expect(service.search('😀').hits).toEqual([]);
  });

  it('builds quoted FTS5 phrases, prefix on the last word', () => {
    expect(toFtsQuery('foo bar')).toBe('"foo" AND "bar"*');
    expect(toFtsQuery('say "hi"')).toBe('"say" AND """hi"""*');
    expect(toFtsQuery('- : * ( 😀')).toBeUndefined();
    expect(toFtsQuery('NEAR(a')).toBe('"NEAR(a"*');
    // With the index's vocabulary, a longer prefix becomes the terms it starts.
    const vocabulary = (folded: string, limit: number) =>
      ['beacon', 'beacons', 'beaconing'].filter((t) => t.startsWith(folded) && t !== folded).slice(0, limit);
    expect(toFtsQuery('dns Béaco', vocabulary)).toBe('"dns" AND ("Béaco" OR "beacon" OR "beacons" OR "beaconing")');
    expect(toFtsQuery('beacons', vocabulary)).toBe('"beacons"');
    expect(toFtsQuery('bea', vocabulary)).toBe('"bea"*');
    expect(toFtsQuery('auth.lo', vocabulary)).toBe('"auth.lo"*');
    expect(toFtsQuery('many', () => Array.from({ length: MAX_PREFIX_TERMS + 1 }, (_, i) => `many${i}`))).toBe(
      '"many"*',
    );
    expect(foldToken('ÉtÉ')).toBe('ete');
  });

  it('expands a typed prefix from the index vocabulary, and falls back to a prefix scan for too many terms', () => {
    const kase = service.create('Prefix');
    service.createNote({ caseId: kase.id, title: 'one', body: 'beaconing seen' });
    service.addTranscript(transcript({ output: 'beacons.dll loaded\n' }));
    expect(service.search('beaco').hits).toHaveLength(2);
    expect(service.search('beacons').hits).toHaveLength(1);
    service.createNote({
      caseId: kase.id,
      title: 'many',
      body: Array.from({ length: MAX_PREFIX_TERMS + 5 }, (_, i) => `zzterm${i}x`).join(' '),
    });
    expect(service.search('zzter').hits).toHaveLength(1);
    expect(service.search('zzterm12').hits).toHaveLength(1);
  });

  it('finds text past the transcript cut in the saved full output, by line, and says what it searched', async () => {
    const kase = service.create('Flood');
    const rows = Array.from({ length: 150_000 }, (_, i) => `      ${i}  2026-01-01 00:00:00  /srv/data/file-${i}.log`);
    rows[149_000] = '      7  2026-01-01 00:00:00  /srv/data/implant-\u001b[31mzq9.so';
    service.addTranscript(
      transcript({
        commandId: 'big',
        line: 'findfile "*"',
        output: rows.slice(0, 1000).join('\n'),
        outputTruncated: true,
      }),
    );
    expect(service.search('implant').hits).toEqual([]);
    expect(service.search('implant').covered).toMatch(
      /searched notes, transcripts \(the first 1 MiB of each command's output\), evidence names \(0 items\) and the text of 0 saved console outputs/,
    );
    const file = path.join(root, 'findfile-full-output.txt');
    writeFileSync(file, `${rows.join('\n')}\n`);
    const item = await service.addEvidence(file, {
      kind: 'output',
      name: 'findfile-full-output.txt',
      deviceId: 'dev1',
      deviceName: 'web01',
      originalPath: '',
      commandId: 'big',
      analyst: 'alice',
      fileTimes: {},
    });
    const found = service.search('IMPLANT zq9');
    expect(found.hits).toHaveLength(1);
    expect(found.hits[0]).toMatchObject({
      kind: 'evidence',
      id: item.id,
      caseId: kase.id,
      title: 'findfile-full-output.txt',
      line: 149_001,
      commandId: 'big',
    });
    expect(found.hits[0]?.snippet).toContain('«implant»');
    expect(found.hits[0]?.snippet).not.toMatch(/[\u0000-\u001f]/);
    expect(found.covered).toMatch(/evidence names \(1 item\) and the text of 1 saved console output \([\d.]+ MiB\)$/);
    // by name too
    expect(service.search('full-output').hits.map((h) => h.kind)).toContain('evidence');
    // a budget smaller than the file: not read, and the answer says so
    const outputs = [
      {
        id: item.id,
        caseId: kase.id,
        caseTitle: 'Flood',
        name: item.name,
        size: item.size,
        commandId: 'big',
        acquiredAt: item.acquiredAt,
        path: file,
      },
    ];
    expect(searchOutputFiles(outputs, 'implant', 10, 1000)).toMatchObject({
      hits: [],
      filesSearched: 0,
      filesSkipped: 1,
    });
  });

  it('shows device text in snippets and titles with control characters made visible', () => {
    service.create('Esc');
    service.addTranscript(
      transcript({ line: 'cat \u001b[31mevil', output: 'one\u001b]0;pwned\u0007 marker two\u202etxt.exe\n' }),
    );
    const [hit] = service.search('marker').hits;
    expect(hit!.snippet).not.toMatch(/[\u0000-\u001f\u202e]/);
    expect(hit!.snippet).toContain('\\x1b');
    expect(hit!.title).toBe('cat \\x1b[31mevil');
  });
});
