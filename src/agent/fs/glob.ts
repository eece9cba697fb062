/**
 * Name patterns for findfile: `*`, `?` and `[...]` (with `!`/`^` negation and ranges) matched against a
 * file's base name, case-sensitively, like `find -name` (case-insensitively on Windows, whose file names
 * are). A pattern without wildcards is an exact name. A backslash makes the next character literal.
 *
 * Matched without regular expressions (see shared/wildcard.ts): a glob turned into a backtracking regex
 * took exponential time on a name that almost matched, and froze the whole agent.
 */

import { matchWildcard, type ClassToken, type WildcardToken } from '../../shared/wildcard.js';

export type NameMatcher = (name: string) => boolean;
export type Token = WildcardToken;

/** Longest pattern accepted, in characters (a file name is at most 255 bytes on Linux). */
export const MAX_PATTERN_LENGTH = 1024;

/** A pattern that cannot be used (too long, or a class with a reversed range). */
export class PatternError extends Error {
  override name = 'PatternError';
}

export function hasWildcard(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

/** One element of a class body: a literal code point, or an unescaped `-` that may join two of them. */
type ClassItem = number | 'dash';

const DASH = 0x2d;

function codePoint(c: string): number {
  return c.codePointAt(0) as number;
}

/**
 * Parses `[...]` starting at `start` (the `[`); returns the class and the index after `]`, or null when
 * there is no closing `]` (the `[` is then literal). A `]` right after `[` (or `[!`) is a member; `-`
 * makes a range between two members unless it comes first or last, like in fnmatch.
 */
function bracket(chars: readonly string[], start: number): { token: ClassToken; next: number } | null {
  let i = start + 1;
  let negate = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negate = true;
    i++;
  }
  const items: ClassItem[] = [];
  let first = true;
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === ']' && !first) return { token: { kind: 'class', negate, ranges: classRanges(items) }, next: i + 1 };
    first = false;
    if (c === '\\' && i + 1 < chars.length) {
      items.push(codePoint(chars[i + 1] as string));
      i += 2;
      continue;
    }
    // A dash between two members may make a range; first or right before `]` it is a member itself.
    if (c === '-' && items.length > 0 && chars[i + 1] !== undefined && chars[i + 1] !== ']') items.push('dash');
    else items.push(codePoint(c));
    i++;
  }
  return null;
}

/** Reads a class body as a regex class is read: member, then `- member` makes a range of the two. */
function classRanges(items: readonly ClassItem[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (let i = 0; i < items.length;) {
    const lo = items[i] as ClassItem;
    const loCp = lo === 'dash' ? DASH : lo;
    const hi = items[i + 2];
    if (items[i + 1] === 'dash' && hi !== undefined) {
      const hiCp = hi === 'dash' ? DASH : hi;
      if (hiCp < loCp)
        throw new PatternError(`range ${String.fromCodePoint(loCp)}-${String.fromCodePoint(hiCp)} is out of order`);
      ranges.push([loCp, hiCp]);
      i += 3;
    } else {
      ranges.push([loCp, loCp]);
      i++;
    }
  }
  return ranges;
}

/** Turns a pattern into tokens; consecutive stars are one (they match the same names). */
export function parsePattern(pattern: string): Token[] {
  // Code points, so `?` matches one character even outside the BMP.
  const chars = Array.from(pattern);
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length;) {
    const c = chars[i] as string;
    if (c === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
      i++;
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
      i++;
    } else if (c === '[') {
      const cls = bracket(chars, i);
      if (cls) {
        tokens.push(cls.token);
        i = cls.next;
      } else {
        tokens.push({ kind: 'char', cp: codePoint(c) });
        i++;
      }
    } else if (c === '\\' && i + 1 < chars.length) {
      tokens.push({ kind: 'char', cp: codePoint(chars[i + 1] as string) });
      i += 2;
    } else {
      tokens.push({ kind: 'char', cp: codePoint(c) });
      i++;
    }
  }
  return tokens;
}

/**
 * Compiles a pattern; throws PatternError (one line) when it is too long or has a reversed range.
 * `ignoreCase`: pattern and names are compared lower-cased (Windows).
 */
export function compileNamePattern(pattern: string, options: { ignoreCase?: boolean } = {}): NameMatcher {
  if (pattern.length > MAX_PATTERN_LENGTH)
    throw new PatternError(`pattern is ${pattern.length} characters; the limit is ${MAX_PATTERN_LENGTH}`);
  if (options.ignoreCase) {
    const matches = compileNamePattern(pattern.toLowerCase());
    return (name) => matches(name.toLowerCase());
  }
  if (!hasWildcard(pattern)) return (name) => name === pattern;
  const tokens = parsePattern(pattern);
  return (name) => matchWildcard(tokens, name);
}
