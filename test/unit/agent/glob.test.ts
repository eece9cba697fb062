/**
 * The findfile glob matcher (src/agent/fs/glob.ts) against two oracles on random patterns and names:
 * a naive recursive matcher (no regular expression: checks the linear-time algorithm) and the regex
 * translation the agent used before (checks that the syntax is read exactly as it was), plus the
 * pathological patterns that used to freeze the agent.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_PATTERN_LENGTH,
  PatternError,
  compileNamePattern,
  parsePattern,
  type Token,
} from '../../../src/agent/fs/glob.js';

/** Plain recursion over the tokens: exponential, fine on short inputs, obviously right. */
function naiveMatch(tokens: readonly Token[], name: readonly string[], t = 0, n = 0): boolean {
  if (t === tokens.length) return n === name.length;
  const token = tokens[t] as Token;
  if (token.kind === 'star') {
    for (let k = n; k <= name.length; k++) if (naiveMatch(tokens, name, t + 1, k)) return true;
    return false;
  }
  if (n === name.length) return false;
  const cp = (name[n] as string).codePointAt(0) as number;
  let ok: boolean;
  if (token.kind === 'any') ok = true;
  else if (token.kind === 'char') ok = token.cp === cp;
  else ok = token.ranges.some(([lo, hi]) => cp >= lo && cp <= hi) !== token.negate;
  return ok && naiveMatch(tokens, name, t + 1, n + 1);
}

/** The agent's previous translation of a glob into a regular expression (kept here as a reference of the syntax). */
function legacyRegexMatcher(pattern: string): (name: string) => boolean {
  const special = /[\\^$.*+?()[\]{}|/]/g;
  const esc = (s: string) => s.replace(special, '\\$&');
  const bracket = (chars: string[], start: number): { source: string; next: number } | null => {
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
        body += lit === '-' ? '\\-' : esc(lit);
        i += 2;
        continue;
      }
      if (c === '-' && body !== '' && chars[i + 1] !== undefined && chars[i + 1] !== ']') body += '-';
      else body += c === '-' ? '\\-' : esc(c);
      i++;
    }
    return null;
  };
  if (!/[*?[\\]/.test(pattern)) return (name) => name === pattern;
  const chars = Array.from(pattern);
  let source = '';
  for (let i = 0; i < chars.length;) {
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
      source += esc(chars[i + 1] as string);
      i += 2;
    } else {
      source += esc(c);
      i++;
    }
  }
  const re = new RegExp(`^${source}$`, 'su');
  return (name) => re.test(name);
}

/** Deterministic PRNG (mulberry32), so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATTERN_ALPHABET = ['a', 'b', 'c', 'z', '-', ']', '[', '!', '^', '*', '*', '?', '\\', '.', 'é', '😀', '\n'];
const NAME_ALPHABET = ['a', 'b', 'c', 'z', '-', ']', '[', '!', '^', '*', '?', '\\', '.', 'é', '😀', '\n'];

function randomString(rand: () => number, alphabet: readonly string[], maxLength: number): string {
  const n = Math.floor(rand() * (maxLength + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

describe('findfile glob matcher', () => {
  it('agrees with a naive matcher and with the former regex syntax on 20 000 random cases', () => {
    const rand = prng(20261205);
    let compared = 0;
    let matched = 0;
    for (let i = 0; i < 20_000; i++) {
      const pattern = randomString(rand, PATTERN_ALPHABET, 9);
      const names = Array.from({ length: 4 }, () => randomString(rand, NAME_ALPHABET, 8));
      // Names built from the pattern's own characters match far more often than random ones.
      names.push(pattern.replace(/[*?[\]\\]/g, ''), pattern.replace(/\*/g, 'ab').replace(/\?/g, 'é'));
      let legacy: ((name: string) => boolean) | null;
      try {
        legacy = legacyRegexMatcher(pattern);
      } catch {
        legacy = null; // e.g. `[z-a]`: the regex was invalid; now a one-line PatternError
      }
      if (!legacy) {
        expect(() => compileNamePattern(pattern), JSON.stringify(pattern)).toThrow(PatternError);
        continue;
      }
      const m = compileNamePattern(pattern);
      const tokens = parsePattern(pattern);
      for (const name of names) {
        const got = m(name);
        const want = legacy(name);
        if (got !== want || got !== naiveMatch(tokens, Array.from(name))) {
          throw new Error(
            `pattern ${JSON.stringify(pattern)} name ${JSON.stringify(name)}: got ${got}, former syntax ${want}`,
          );
        }
        compared++;
        if (got) matched++;
      }
    }
    expect(compared).toBeGreaterThan(100_000);
    expect(matched).toBeGreaterThan(5_000); // the cases exercise matches, not only refusals
  });

  it('keeps the documented syntax', () => {
    expect(compileNamePattern('[a-c-e]')('-')).toBe(true); // a dash after a range is a member
    expect(compileNamePattern('[a-c-e]')('d')).toBe(false);
    expect(compileNamePattern('[]-a]')('_')).toBe(true); // `]` first is a member and may start a range
    expect(compileNamePattern('[^a]')('b')).toBe(true);
    expect(compileNamePattern('[\\]]')(']')).toBe(true);
    expect(compileNamePattern('*')('')).toBe(true);
    expect(compileNamePattern('?')('')).toBe(false);
    expect(compileNamePattern('a*b*c')('a\nb\nc')).toBe(true); // names may hold any character
    expect(compileNamePattern('Lib*')('libc.so')).toBe(false); // case-sensitive
  });

  it('refuses a reversed range and an overlong pattern in one line', () => {
    expect(() => compileNamePattern('[z-a]')).toThrow(new PatternError('range z-a is out of order'));
    expect(() => compileNamePattern('*'.repeat(MAX_PATTERN_LENGTH))).not.toThrow();
    expect(() => compileNamePattern('a'.repeat(MAX_PATTERN_LENGTH + 1))).toThrow(
      `pattern is ${MAX_PATTERN_LENGTH + 1} characters; the limit is ${MAX_PATTERN_LENGTH}`,
    );
  });

  it('matches pathological patterns in linear time', () => {
    const cases: [string, string][] = [
      ['*a*a*a*a*a*a*a*a*b', 'a'.repeat(10_000)],
      ['*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(10_000)],
      ['*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?[!a]', 'a'.repeat(10_000)],
      [`${'*a'.repeat(500)}*b`, 'a'.repeat(10_000)],
    ];
    for (const [pattern, name] of cases) {
      const m = compileNamePattern(pattern);
      const t0 = performance.now();
      expect(m(name)).toBe(false);
      expect(m(`${name}b`)).toBe(true);
      const ms = performance.now() - t0;
      expect(ms, `${pattern.slice(0, 40)} took ${ms.toFixed(1)} ms`).toBeLessThan(50);
    }
  });
});
