// Device-group name rules: same answers as the regex they replace (on random rules and names), in
// bounded time on rules with many stars against a long device name.
import { describe, expect, it } from 'vitest';
import { globMatches } from '../../../src/server/groups.js';

/** The former translation of a rule into a regular expression, as a reference of the syntax. */
function legacy(glob: string, text: string): boolean {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'is').test(text);
}

describe('device-group name rules', () => {
  it('agree with the former regex on 20 000 random rules and names, case-insensitively', () => {
    const alphabet = [
      'a',
      'A',
      'b',
      'B',
      '*',
      '?',
      '.',
      '-',
      '[',
      '\\',
      'é',
      'É',
      'ß',
      'ſ',
      'K',
      'k',
      '\u212a',
      '😀',
      '\n',
    ];
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const word = (max: number) =>
      Array.from({ length: Math.floor(rand() * (max + 1)) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(
        '',
      );
    let matched = 0;
    for (let i = 0; i < 20_000; i++) {
      const glob = word(7);
      for (const name of [word(7), glob.replace(/\*/g, 'Ab').replace(/\?/g, 'é'), glob.toUpperCase()]) {
        const want = legacy(glob, name);
        if (globMatches(glob, name) !== want)
          throw new Error(`rule ${JSON.stringify(glob)} name ${JSON.stringify(name)}: expected ${want}`);
        if (want) matched++;
      }
    }
    expect(matched).toBeGreaterThan(5_000);
  });

  it('answers a many-star rule against a long device name at once', () => {
    const t0 = performance.now();
    expect(globMatches('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(128))).toBe(false);
    expect(globMatches('WEB-*-*-*-*-*-*-*-*-prod', `web${'-x'.repeat(60)}`)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(50);
  });
});
