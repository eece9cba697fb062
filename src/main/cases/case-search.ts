/**
 * Full-text search over notes and transcripts (the FTS5 indexes of migrations/0001-init.ts).
 *
 * Newest first, not by relevance: bm25 must score every matching row before it can return the best 50,
 * which for a word in 50 000 rows measured ~130 ms per index (bench/search.ts), while FTS5 walks its rowid
 * order backwards and stops at the limit — a few ms whatever the word. Every word must match (the query is
 * built by fts-query.ts), so a more specific query is the way to narrow; the analyst also scopes by case.
 * Each index gives its newest `limit` hits (rowid order: the order they were recorded) and the two lists
 * are merged on their times. Snippets mark matches with « » and are flattened to one line of visible
 * characters (transcript output comes from devices: it may hold escape sequences).
 *
 * Transcripts keep the first 1 MiB of each command, so the search also covers evidence names and reads
 * the text of saved console output (output-search.ts: where the full copy of a long output is), and every
 * answer says what it covered: "no match" must never read as "not in this case" when part was not read.
 */
import { performance } from 'node:perf_hooks';
import type { SearchHit, SearchResult } from '../../shared/workstation/case-types.js';
import { escapeControlChars, oneLine } from '../../shared/commands/format.js';
import type { Statement } from 'better-sqlite3';
import type { CaseDb } from './case-db.js';
import { toFtsQuery, type PrefixTerms } from './fts-query.js';
import { queryWords, searchOutputFiles, type OutputFile } from './output-search.js';

/** Tokens of context around the matches in a snippet. */
const SNIPPET_TOKENS = 16;
const MAX_TITLE_CHARS = 300;
/** Evidence items looked at by name (newest first): far more than a case holds. */
const MAX_EVIDENCE_ROWS = 5000;
/** What a transcript keeps of each command (case-store.ts MAX_TRANSCRIPT_OUTPUT_CHARS). */
const TRANSCRIPT_KEPT = '1 MiB';

interface EvidenceRow {
  id: string;
  case_id: string;
  case_title: string;
  name: string;
  kind: string;
  size: number;
  sha256: string;
  command_id: string | null;
  at: string;
}

interface HitRow {
  id: string;
  case_id: string;
  case_title: string;
  title: string;
  command_id: string | null;
  snippet: string;
  at: string;
}

/** One line, safe for a terminal, cut at `max` characters after escaping (an escape is several characters). */
function flat(text: string, max?: number): string {
  return oneLine(escapeControlChars(oneLine(text)), max);
}

export class CaseSearch {
  private readonly queries;

  constructor(
    db: CaseDb,
    /** Where an evidence blob is on disk (to read saved output); absent: evidence is searched by name only. */
    private readonly blobPath?: (sha256: string) => string,
  ) {
    const notes = (where: string) =>
      db.prepare(`SELECT n.id, n.case_id, c.title AS case_title, n.title, n.command_id,
          snippet(notes_fts, -1, '«', '»', '…', ${SNIPPET_TOKENS}) AS snippet, n.updated_at AS at
        FROM notes_fts CROSS JOIN notes n ON n.seq = notes_fts.rowid CROSS JOIN cases c ON c.id = n.case_id
        WHERE notes_fts MATCH ? ${where} ORDER BY notes_fts.rowid DESC LIMIT ?`);
    const transcripts = (where: string) =>
      db.prepare(`SELECT t.id, t.case_id, c.title AS case_title, t.line AS title, t.command_id,
          snippet(transcripts_fts, -1, '«', '»', '…', ${SNIPPET_TOKENS}) AS snippet, t.started_at AS at
        FROM transcripts_fts CROSS JOIN transcripts t ON t.seq = transcripts_fts.rowid CROSS JOIN cases c ON c.id = t.case_id
        WHERE transcripts_fts MATCH ? ${where} ORDER BY transcripts_fts.rowid DESC LIMIT ?`);
    // CROSS JOIN keeps the index as the outer loop (SQLite does not reorder it): driven from the case's
    // rows instead, the planner would run the MATCH once per row. In one case, its rows' rowid range bounds
    // the index walk (FTS5 seeks to it), so a case whose hits are older than every other case's does not
    // cost a walk through all of those first. The CASTs matter: better-sqlite3 binds JS numbers as REAL,
    // and FTS5 does not seek on a REAL rowid bound (it filters instead, 30× slower in bench/search.ts).
    this.queries = {
      notes: notes(''),
      notesInCase: notes('AND notes_fts.rowid BETWEEN CAST(? AS INTEGER) AND CAST(? AS INTEGER) AND n.case_id = ?'),
      transcripts: transcripts(''),
      transcriptsInCase: transcripts(
        'AND transcripts_fts.rowid BETWEEN CAST(? AS INTEGER) AND CAST(? AS INTEGER) AND t.case_id = ?',
      ),
      notesRange: db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM notes WHERE case_id = ?'),
      transcriptsRange: db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM transcripts WHERE case_id = ?'),
      // Terms longer than the prefix: from prefix + U+0001 (past the prefix itself) to prefix + U+10FFFF.
      notesTerms: db.prepare('SELECT term FROM notes_terms WHERE term >= ? AND term <= ? LIMIT ?').pluck(),
      transcriptsTerms: db.prepare('SELECT term FROM transcripts_terms WHERE term >= ? AND term <= ? LIMIT ?').pluck(),
      evidence:
        db.prepare(`SELECT e.id, e.case_id, c.title AS case_title, e.name, e.kind, e.size, e.sha256, e.command_id, e.acquired_at AS at
        FROM evidence e JOIN cases c ON c.id = e.case_id ORDER BY e.seq DESC LIMIT ?`),
      evidenceInCase:
        db.prepare(`SELECT e.id, e.case_id, c.title AS case_title, e.name, e.kind, e.size, e.sha256, e.command_id, e.acquired_at AS at
        FROM evidence e JOIN cases c ON c.id = e.case_id WHERE e.case_id = ? ORDER BY e.seq DESC LIMIT ?`),
    };
  }

  private static terms(statement: Statement): PrefixTerms {
    return (folded, limit) => statement.all(`${folded}\u0001`, `${folded}\u{10FFFF}`, limit) as string[];
  }

  private inCase(query: Statement, range: Statement, match: string, caseId: string, limit: number): HitRow[] {
    const { lo, hi } = range.get(caseId) as { lo: number | null; hi: number | null };
    if (lo === null || hi === null) return [];
    return query.all(match, lo, hi, caseId, limit) as HitRow[];
  }

  search(text: string, caseId: string | undefined, limit: number): SearchResult {
    const started = performance.now();
    const q = this.queries;
    // Each index has its own vocabulary, so each gets its own expansion of the last word.
    const notesMatch = toFtsQuery(text, CaseSearch.terms(q.notesTerms));
    const transcriptsMatch = toFtsQuery(text, CaseSearch.terms(q.transcriptsTerms));
    const notes = !notesMatch
      ? []
      : caseId === undefined
        ? (q.notes.all(notesMatch, limit) as HitRow[])
        : this.inCase(q.notesInCase, q.notesRange, notesMatch, caseId, limit);
    const transcripts = !transcriptsMatch
      ? []
      : caseId === undefined
        ? (q.transcripts.all(transcriptsMatch, limit) as HitRow[])
        : this.inCase(q.transcriptsInCase, q.transcriptsRange, transcriptsMatch, caseId, limit);
    const evidence = (
      caseId === undefined ? q.evidence.all(MAX_EVIDENCE_ROWS) : q.evidenceInCase.all(caseId, MAX_EVIDENCE_ROWS)
    ) as EvidenceRow[];
    const words = queryWords(text);
    const byName =
      words.length === 0
        ? []
        : evidence.filter((item) => words.every((w) => item.name.toLowerCase().includes(w))).slice(0, limit);
    const outputs = this.blobPath
      ? evidence
          .filter((item) => item.kind === 'output')
          .map((e) => outputFile(e, this.blobPath as (sha256: string) => string))
      : [];
    const inOutputs = searchOutputFiles(outputs, text, limit);

    const ranked: { hit: SearchHit; at: string }[] = [
      ...notes.map((row) => ({ hit: ftsHit(row, 'note'), at: row.at })),
      ...transcripts.map((row) => ({ hit: ftsHit(row, 'transcript'), at: row.at })),
      ...byName.map((row) => ({
        hit: evidenceHit(row, `evidence ${row.kind}, ${row.size.toLocaleString('en')} bytes`),
        at: row.at,
      })),
      ...inOutputs.hits.map((h) => ({
        hit: { ...evidenceHit(evidenceRowOf(h.file), h.snippet), line: h.line },
        at: h.file.acquiredAt,
      })),
    ];
    ranked.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    const hits = ranked.slice(0, limit).map((r) => r.hit);
    const covered = [
      'notes',
      `transcripts (the first ${TRANSCRIPT_KEPT} of each command's output)`,
      `evidence names (${evidence.length.toLocaleString('en')} item${evidence.length === 1 ? '' : 's'})`,
      `the text of ${inOutputs.filesSearched} saved console output${inOutputs.filesSearched === 1 ? '' : 's'} (${mib(inOutputs.bytesSearched)})`,
    ];
    const skipped =
      inOutputs.filesSkipped > 0
        ? `; not read: ${inOutputs.filesSkipped} saved output${inOutputs.filesSkipped === 1 ? '' : 's'} (past this search's budget or missing)`
        : '';
    return {
      hits,
      tookMs: Math.round((performance.now() - started) * 100) / 100,
      covered: `searched ${covered.slice(0, -1).join(', ')} and ${covered.at(-1) ?? ''}${skipped}`,
    };
  }
}

function ftsHit(row: HitRow, kind: 'note' | 'transcript'): SearchHit {
  return {
    kind,
    id: row.id,
    caseId: row.case_id,
    caseTitle: flat(row.case_title, MAX_TITLE_CHARS),
    title: flat(row.title, MAX_TITLE_CHARS),
    snippet: flat(row.snippet),
    commandId: row.command_id ?? undefined,
  };
}

function evidenceHit(row: EvidenceRow, snippet: string): SearchHit {
  return {
    kind: 'evidence',
    id: row.id,
    caseId: row.case_id,
    caseTitle: flat(row.case_title, MAX_TITLE_CHARS),
    title: flat(row.name, MAX_TITLE_CHARS),
    snippet: flat(snippet),
    commandId: row.command_id ?? undefined,
  };
}

function outputFile(item: EvidenceRow, blobPath: (sha256: string) => string): OutputFile {
  return {
    id: item.id,
    caseId: item.case_id,
    caseTitle: item.case_title,
    name: item.name,
    size: item.size,
    commandId: item.command_id,
    acquiredAt: item.at,
    path: blobPath(item.sha256),
  };
}

function evidenceRowOf(f: OutputFile): EvidenceRow {
  return {
    id: f.id,
    case_id: f.caseId,
    case_title: f.caseTitle,
    name: f.name,
    kind: 'output',
    size: f.size,
    sha256: '',
    command_id: f.commandId,
    at: f.acquiredAt,
  };
}

function mib(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
