/**
 * Name patterns for findfile: `*`, `?` and `[...]` (with `!`/`^` negation and ranges) matched against a
 * file's base name, case-sensitively, like `find -name`. A pattern without wildcards is an exact name.
 * A backslash makes the next character literal.
 *
 * Matched without regular expressions: a glob turned into a backtracking regex (`*a*a*a*a*b` → `.*a.*a…`)
 * takes exponential time on a name that almost matches, and one synchronous regex test cannot be
 * interrupted, so it froze the whole agent. The matcher below is the two-pointer wildcard algorithm, which
 * only ever goes back to the last `*`: at most (name length × pattern length) steps, whatever the input.
 */

export type NameMatcher = (name: string) => boolean;

/** Longest pattern accepted, in characters (a file name is at most 255 bytes on Linux). */
export const MAX_PATTERN_LENGTH = 1024;

/** A pattern that cannot be used (too long, or a class with a reversed range). */
export class PatternError extends Error {
  override name = 'PatternError';
}

interface ClassToken {
  kind: 'class';
  negate: boolean;
  /** Inclusive code point ranges; a single character is a range of one. */
  ranges: readonly (readonly [number, number])[];
}

export type Token = { kind: 'star' } | { kind: 'any' } | { kind: 'char'; cp: number } | ClassToken;

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
  for (let i = 0; i < items.length; ) {
    const lo = items[i] as ClassItem;
    const loCp = lo === 'dash' ? DASH : lo;
    const hi = items[i + 2];
    if (items[i + 1] === 'dash' && hi !== undefined) {
      const hiCp = hi === 'dash' ? DASH : hi;
      if (hiCp < loCp) throw new PatternError(`range ${String.fromCodePoint(loCp)}-${String.fromCodePoint(hiCp)} is out of order`);
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
  for (let i = 0; i < chars.length; ) {
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

/** Does one non-star token accept this code point? */
function accepts(token: Exclude<Token, { kind: 'star' }>, cp: number): boolean {
  switch (token.kind) {
    case 'any':
      return true;
    case 'char':
      return token.cp === cp;
    case 'class': {
      let inside = false;
      for (const [lo, hi] of token.ranges) {
        if (cp >= lo && cp <= hi) {
          inside = true;
          break;
        }
      }
      return inside !== token.negate;
    }
  }
}

/**
 * Two-pointer wildcard matching over the name's code points. On a mismatch after a `*`, the star takes one
 * more character and the match resumes right after it: earlier stars never need revisiting, because the
 * last star can absorb whatever an earlier one would have (so no exponential backtracking).
 */
export function matchTokens(tokens: readonly Token[], name: string): boolean {
  let t = 0;
  let n = 0; // UTF-16 index of the next code point of the name
  let starT = -1;
  let starN = 0;
  while (n < name.length) {
    const token = tokens[t];
    if (token?.kind === 'star') {
      starT = t++;
      starN = n;
      continue;
    }
    const cp = name.codePointAt(n) as number;
    if (token !== undefined && accepts(token, cp)) {
      t++;
      n += cp > 0xffff ? 2 : 1;
    } else if (starT >= 0) {
      t = starT + 1;
      starN += (name.codePointAt(starN) as number) > 0xffff ? 2 : 1;
      n = starN;
    } else return false;
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}

/** Compiles a pattern; throws PatternError (one line) when it is too long or has a reversed range. */
export function compileNamePattern(pattern: string): NameMatcher {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PatternError(`pattern is ${pattern.length} characters; the limit is ${MAX_PATTERN_LENGTH}`);
  if (!hasWildcard(pattern)) return (name) => name === pattern;
  const tokens = parsePattern(pattern);
  return (name) => matchTokens(tokens, name);
}
