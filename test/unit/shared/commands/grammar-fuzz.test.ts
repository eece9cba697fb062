/**
 * Property-style tests: thousands of random and mutated lines. The grammar faces whatever an analyst (or a
 * script calling the REST API) types or pastes, so it must only ever fail with a GrammarError, quickly.
 * The generator is seeded: a failure prints the seed and the line, and reproduces.
 */
import { describe, expect, it } from 'vitest';
import { bindParams } from '../../../../src/shared/commands/bind.js';
import { CATALOG, findCommand } from '../../../../src/shared/commands/catalog.js';
import { complete } from '../../../../src/shared/commands/completion.js';
import { GrammarError, MAX_LINE_LENGTH, parseLine, quoteArg } from '../../../../src/shared/commands/grammar.js';

/** mulberry32: small, seedable, good enough to spread test inputs. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20240501;
const LINES = 5000;

const PIECES = [
  ' ',
  ' ',
  ' ',
  '\t',
  '"',
  '"',
  "'",
  "'",
  '>',
  '>',
  '&',
  '&',
  '\\',
  '-',
  '--',
  '-5',
  '-x',
  '-path',
  '-output',
  '-OUTPUT',
  'json',
  'table',
  'C:\\Users\\x',
  '/tmp/a b',
  'é',
  '报告',
  '😀',
  '\u202e',
  '\u001b[31m',
  '\u009b',
  '\u0000',
  '\n',
  '\r',
  '\ud800',
  '\udc00',
  'Ω',
  '\u00a0',
  ...CATALOG.map((c) => c.name),
  ...CATALOG.flatMap((c) => c.params.map((p) => `-${p.name}`)),
];

function pick<T>(rand: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error('empty pick');
  return item;
}

function randomUnits(rand: () => number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i += 1) {
    // Mostly ASCII (where the grammar's special characters are), some of the whole BMP (lone surrogates included).
    text += String.fromCharCode(rand() < 0.7 ? Math.floor(rand() * 128) : Math.floor(rand() * 0x10000));
  }
  return text;
}

function randomPieces(rand: () => number, count: number): string {
  let text = '';
  for (let i = 0; i < count; i += 1) text += pick(rand, PIECES);
  return text;
}

function mutate(rand: () => number, line: string): string {
  let text = line;
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e += 1) {
    const at = Math.floor(rand() * (text.length + 1));
    const what = rand();
    if (what < 0.4) text = text.slice(0, at) + pick(rand, PIECES) + text.slice(at);
    else if (what < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 3));
    else text = text.slice(0, at) + randomUnits(rand, 1) + text.slice(at + 1);
  }
  return text;
}

const EXAMPLES = CATALOG.flatMap((c) => c.examples);

function generate(rand: () => number, index: number): string {
  if (index % 500 === 499) return randomPieces(rand, 3000); // past the length limit now and then
  const kind = rand();
  if (kind < 0.25) return randomUnits(rand, Math.floor(rand() * 80));
  if (kind < 0.6) return randomPieces(rand, Math.floor(rand() * 20));
  return mutate(rand, `${pick(rand, EXAMPLES)}${rand() < 0.3 ? ' &' : ''}${rand() < 0.3 ? ' > out.txt' : ''}`);
}

/** Runs `fn`, accepting only a GrammarError with a one-line, terminal-safe message. */
function expectOnlyGrammarErrors(line: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof GrammarError))
      throw new Error(`seed ${SEED}: non-GrammarError for ${JSON.stringify(line)}: ${String(err)}`, { cause: err });
    expect(err.message, JSON.stringify(line)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(err.message.length).toBeGreaterThan(0);
  }
}

describe('grammar under random input', () => {
  it(`parses, binds and completes ${LINES} random lines, failing only with GrammarError, fast`, () => {
    const rand = random(SEED);
    const ctx = { commands: CATALOG.map((c) => c.name) };
    const durations: number[] = [];
    let parsedCount = 0;

    for (let index = 0; index < LINES; index += 1) {
      const line = generate(rand, index);
      const cursor = Math.floor(rand() * (line.length + 1));
      const started = performance.now();
      expectOnlyGrammarErrors(line, () => {
        const parsed = parseLine(line);
        parsedCount += 1;
        expect(parsed.name).toBe(parsed.name.toLowerCase());
        expect(parsed.name).not.toBe('');
        const spec = findCommand(parsed.name);
        if (spec) bindParams(spec, parsed);
      });
      // Completion must not even throw a GrammarError: it works on half-typed lines.
      const completion = complete(line, cursor, ctx);
      durations.push(performance.now() - started);
      expect(completion.replaceFrom).toBeGreaterThanOrEqual(0);
      expect(completion.replaceFrom).toBeLessThanOrEqual(cursor);
    }

    durations.sort((a, b) => a - b);
    const p99 = durations[Math.floor(durations.length * 0.99)] ?? 0;
    const max = durations[durations.length - 1] ?? 0;
    // Typical lines take microseconds; the bound on the maximum leaves room for a GC pause on a busy CI machine.
    expect(p99).toBeLessThan(10); // generous bounds: CI runs test files in parallel on 2 cores; a hang is seconds
    expect(max).toBeLessThan(250);
    // The generator must produce valid lines too, not only garbage.
    expect(parsedCount).toBeGreaterThan(LINES / 10);
  });

  it('refuses a huge line quickly', () => {
    const line = `findfile ${'"a b" '.repeat(200_000)}`;
    const started = performance.now();
    expect(() => parseLine(line)).toThrow(`command line is ${line.length} characters; the limit is ${MAX_LINE_LENGTH}`);
    expect(performance.now() - started).toBeLessThan(250);
  });

  it('quoteArg round-trips random values through parseLine', () => {
    const rand = random(SEED + 1);
    for (let i = 0; i < 2000; i += 1) {
      const value =
        rand() < 0.5 ? randomUnits(rand, Math.floor(rand() * 30)) : randomPieces(rand, Math.floor(rand() * 6));
      if (value.includes('\u0000')) continue;
      expect(parseLine(`findfile ${quoteArg(value)}`).positionals, JSON.stringify(value)).toEqual([value]);
    }
  });
});
