/**
 * Wildcard matching without regular expressions, in linear-bounded time: at most (text length × pattern
 * length) steps whatever the input. A glob translated into a backtracking regex (`*a*a*a*b` → `.*a.*a…`)
 * takes exponential time on a text that almost matches, and a running regex cannot be interrupted.
 * Used by findfile's name patterns (agent) and by device-group name rules (service).
 */

export interface ClassToken {
  kind: 'class';
  negate: boolean;
  /** Inclusive ranges; a single character is a range of one. */
  ranges: readonly (readonly [number, number])[];
}

/** `star`: any run of characters (also none); `any`: exactly one; `char`: that one; `class`: one of a set. */
export type WildcardToken = { kind: 'star' } | { kind: 'any' } | { kind: 'char'; cp: number } | ClassToken;

export interface WildcardOptions {
  /**
   * What one character is: a Unicode code point (default), or a UTF-16 code unit (what a regex without
   * the `u` flag sees, kept where the former matcher worked that way).
   */
  units?: 'codePoints' | 'utf16';
  /** Maps each character of the text before comparing (case folding); tokens must hold folded characters. */
  fold?: (c: number) => number;
}

/** Does one non-star token accept this character? */
function accepts(token: Exclude<WildcardToken, { kind: 'star' }>, c: number): boolean {
  switch (token.kind) {
    case 'any':
      return true;
    case 'char':
      return token.cp === c;
    case 'class': {
      let inside = false;
      for (const [lo, hi] of token.ranges) {
        if (c >= lo && c <= hi) {
          inside = true;
          break;
        }
      }
      return inside !== token.negate;
    }
  }
}

/**
 * Two-pointer wildcard matching. On a mismatch after a `*`, the star takes one more character and the
 * match resumes right after it: earlier stars never need revisiting, because the last star can absorb
 * whatever an earlier one would have (so no exponential backtracking).
 */
export function matchWildcard(tokens: readonly WildcardToken[], text: string, options: WildcardOptions = {}): boolean {
  const codePoints = options.units !== 'utf16';
  const fold = options.fold;
  const at = (i: number): number => (codePoints ? (text.codePointAt(i) as number) : text.charCodeAt(i));
  const width = (c: number): number => (codePoints && c > 0xffff ? 2 : 1);
  let t = 0;
  let n = 0; // UTF-16 index of the next character of the text
  let starT = -1;
  let starN = 0;
  while (n < text.length) {
    const token = tokens[t];
    if (token?.kind === 'star') {
      starT = t++;
      starN = n;
      continue;
    }
    const c = at(n);
    if (token !== undefined && accepts(token, fold ? fold(c) : c)) {
      t++;
      n += width(c);
    } else if (starT >= 0) {
      t = starT + 1;
      starN += width(at(starN));
      n = starN;
    } else return false;
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}
