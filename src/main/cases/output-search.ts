/**
 * Search in the text of saved console output (evidence of kind `output`: the `> name.txt` redirects and
 * the full copies the console saves when an output passes what it keeps). Transcripts keep only the first
 * 1 MiB of each command; without this a word in row 150 000 of a findfile answered "no match".
 *
 * These files are not in the FTS index (they can be tens of MB each); they are read line by line, newest
 * first, within a byte budget per search, and the answer says how much was read (and what was left).
 * A hit is one line holding every word (case-insensitive), at most a few per file.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Bytes of saved output one search reads at most (~0.2 s on this class of machine). */
export const OUTPUT_SEARCH_BUDGET_BYTES = 128 * 1024 * 1024;
/** Matching lines reported per file. */
const HITS_PER_FILE = 3;
const CHUNK_BYTES = 1024 * 1024;
const MAX_LINE_CHARS = 4096;

export interface OutputFile {
  id: string;
  caseId: string;
  caseTitle: string;
  name: string;
  size: number;
  commandId: string | null;
  acquiredAt: string;
  path: string;
}

export interface OutputHit {
  file: OutputFile;
  /** 1-based line number in the file. */
  line: number;
  /** The line, matches between « ». */
  snippet: string;
}

export interface OutputSearchResult {
  hits: OutputHit[];
  filesSearched: number;
  bytesSearched: number;
  /** Files left out: over the budget or unreadable (e.g. missing from the store). */
  filesSkipped: number;
}

/** The words of a query, lower-cased, without FTS syntax (quotes, a trailing `*`). */
export function queryWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/^["']+|["'*]+$/g, ''))
    .filter((w) => w !== '' && !['and', 'or', 'not'].includes(w));
}

export function searchOutputFiles(
  files: readonly OutputFile[],
  text: string,
  limit: number,
  budget = OUTPUT_SEARCH_BUDGET_BYTES,
): OutputSearchResult {
  const words = queryWords(text);
  const result: OutputSearchResult = { hits: [], filesSearched: 0, bytesSearched: 0, filesSkipped: 0 };
  if (words.length === 0) return result;
  for (const file of files) {
    if (result.hits.length >= limit || result.bytesSearched + file.size > budget) {
      result.filesSkipped += 1;
      continue;
    }
    try {
      scanFile(file, words, Math.min(HITS_PER_FILE, limit - result.hits.length), result);
      result.filesSearched += 1;
      result.bytesSearched += file.size;
    } catch {
      result.filesSkipped += 1;
    }
  }
  return result;
}

function scanFile(file: OutputFile, words: readonly string[], max: number, result: OutputSearchResult): void {
  const fd = openSync(file.path, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK_BYTES);
    let carry = '';
    let lineNo = 0;
    let found = 0;
    const check = (line: string): void => {
      lineNo += 1;
      const lower = line.toLowerCase();
      for (const w of words) if (!lower.includes(w)) return;
      result.hits.push({ file, line: lineNo, snippet: mark(line, lower, words) });
      found += 1;
    };
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      const text = carry + buffer.toString('utf8', 0, n);
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) {
        check(line);
        if (found >= max) return;
      }
    }
    if (carry) check(carry);
  } finally {
    closeSync(fd);
  }
}

/** The line (trimmed around the first match when long) with each word's first occurrence between « ». */
function mark(line: string, lower: string, words: readonly string[]): string {
  const ranges = words.map((w) => [lower.indexOf(w), lower.indexOf(w) + w.length] as const).sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [from, to] of ranges) {
    if (from < at) continue;
    out += `${line.slice(at, from)}«${line.slice(from, to)}»`;
    at = to;
  }
  out += line.slice(at);
  const flat = out.replace(/\s+/g, ' ').trim();
  if (flat.length <= MAX_LINE_CHARS) return flat;
  const first = Math.max(0, flat.indexOf('«') - 200);
  return `${first > 0 ? '…' : ''}${flat.slice(first, first + MAX_LINE_CHARS)}…`;
}
