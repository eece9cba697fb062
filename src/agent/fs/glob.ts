/**
 * Name patterns for findfile: `*`, `?` and `[...]` (with `!`/`^` negation and ranges) matched against a
 * file's base name, case-sensitively, like `find -name`. A pattern without wildcards is an exact name.
 * A backslash makes the next character literal.
 */

export type NameMatcher = (name: string) => boolean;

// `-` is only special inside a class (escaped there); the `u` flag rejects needless escapes elsewhere.
const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

function escapeRegex(s: string): string {
  return s.replace(REGEX_SPECIAL, '\\$&');
}

export function hasWildcard(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

/** Parses `[...]` starting at `start` (the `[`); returns the regex class and the index after `]`, or null. */
function bracket(chars: readonly string[], start: number): { source: string; next: number } | null {
  let i = start + 1;
  let negate = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === ']' && !first) return { source: `[${negate ? '^' : ''}${body}]`, next: i + 1 };
    first = false;
    if (c === '\\' && i + 1 < chars.length) {
      const lit = chars[i + 1] as string;
      body += lit === '-' ? '\\-' : escapeRegex(lit);
      i += 2;
      continue;
    }
    // A range a-z keeps its dash; any other special character is escaped.
    if (c === '-' && body !== '' && chars[i + 1] !== undefined && chars[i + 1] !== ']') body += '-';
    else body += c === '-' ? '\\-' : escapeRegex(c);
    i++;
  }
  return null; // unterminated: the `[` is literal
}

export function compileNamePattern(pattern: string): NameMatcher {
  if (!hasWildcard(pattern)) return (name) => name === pattern;
  // Code points, so `?` matches one character even outside the BMP.
  const chars = Array.from(pattern);
  let source = '';
  for (let i = 0; i < chars.length; ) {
    const c = chars[i] as string;
    if (c === '*') {
      source += '.*';
      i++;
    } else if (c === '?') {
      source += '.';
      i++;
    } else if (c === '[') {
      const cls = bracket(chars, i);
      if (cls) {
        source += cls.source;
        i = cls.next;
      } else {
        source += '\\[';
        i++;
      }
    } else if (c === '\\' && i + 1 < chars.length) {
      source += escapeRegex(chars[i + 1] as string);
      i += 2;
    } else {
      source += escapeRegex(c);
      i++;
    }
  }
  const re = new RegExp(`^${source}$`, 'su');
  return (name) => re.test(name);
}
