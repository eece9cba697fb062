/**
 * The console command-line grammar, shared by the console, the `lr` CLI and the REST API
 * (spec: commands.md, "Grammar"). Pure TypeScript: it also runs in the browser renderer.
 *
 * Edge cases, decided here once for every client:
 * - Words are split on ASCII whitespace (space, tab, CR, LF, VT, FF). Other Unicode spaces (NBSP, …) are
 *   ordinary characters, so a pasted file name containing them is not split.
 * - `"..."` and `'...'` group words; a quoted part joins the unquoted text around it (`ab"c d"` → `abc d`).
 *   Inside one kind of quote the other kind is literal (`"it's"`, `'say "hi"'`). `""` is an empty word.
 * - Backslash is ALWAYS a literal character, inside quotes too: `C:\Users\x` and `"C:\dir\"` keep their
 *   backslashes and the closing quote still closes. There is therefore no escape character: a word that
 *   needs both quote kinds concatenates segments (`"a"'"'"b"` → `a"b`); `quoteArg` builds such words.
 * - Unquoted `>` and `&` are operators wherever they appear (they also end the word they touch).
 *   `> file` / `>file` must come last (only `&` may follow it) with exactly one file name; `>>` is refused.
 *   `&` must be the last thing on the line, as its own word or attached (`getfile x&`); anywhere else an
 *   unquoted `&` is an error, so `a&b` must be quoted. Quote them to use them in values (`"a>b"`).
 * - An unquoted word of the form `-letter…` (ASCII letter) is a parameter name; `-5`, `-`, `-.x` and any
 *   quoted or partly quoted word (`"-x"`, `-"x"`) are values. `--name` is refused (parameters take one
 *   dash), so a value starting with `--` must be quoted.
 * - Whether `-name` takes a value comes from the catalog; unknown parameters and parameters of unknown
 *   commands are read as flags (binding then reports them). `-output` always takes a value (json|table).
 * - A value-taking parameter followed by another parameter name, `>`, `&` or nothing is "missing value".
 * - The command name and parameter names are lower-cased; values keep their case.
 * - The line limit is counted in Unicode code points; a NUL character is refused (no OS path holds one).
 */

import { CATALOG, canonicalName, findCommand, findParam, type CommandSpec } from './catalog.js';
import { escapeControlChars } from './format.js';
import type { ParsedLine } from './grammar-types.js';

export type { ParsedLine } from './grammar-types.js';

/** A syntax error in a command line. Its message is always a single line, safe to print to a terminal. */
export class GrammarError extends Error {
  override name = 'GrammarError';

  constructor(message: string) {
    // Messages quote user input: never let it break the line or reach the terminal raw.
    super(escapeControlChars(message));
  }
}

export const MAX_LINE_LENGTH = 8192;
/**
 * The longest line of MAX_LINE_LENGTH characters in UTF-16 code units (a character outside the BMP takes two): the
 * wire's bound.
 */
export const MAX_LINE_UTF16 = 2 * MAX_LINE_LENGTH;

/** A word of user input, as it may appear in an error message: escaped, cut when long. */
export function describeWord(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `"${escapeControlChars(shown)}"`;
}

// --- tokens ------------------------------------------------------------------------------------------

export interface Token {
  kind: 'word' | 'redirect' | 'background';
  /** The word with its quotes removed (`>` or `&` for operators). */
  text: string;
  /** Index in the line of the first character (an opening quote included). */
  start: number;
  /** Index just after the last character. */
  end: number;
  /** Some part of the word was quoted: a quoted word is never a parameter name, nor an operator. */
  quoted: boolean;
}

export interface Tokens {
  tokens: Token[];
  /** Set when the line ends inside a quote (the last token then runs to the end of the line). */
  openQuote?: '"' | "'";
}

/** Space, tab, LF, VT, FF, CR. */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const AMPERSAND = 0x26;
const GREATER_THAN = 0x3e;

function isOperator(code: number): boolean {
  return code === GREATER_THAN || code === AMPERSAND;
}

function isQuote(code: number): boolean {
  return code === DOUBLE_QUOTE || code === SINGLE_QUOTE;
}

/**
 * Splits a line into words and operators. Never throws: an unterminated quote is reported in `openQuote`
 * (completion needs the tokens of a half-typed line). Linear in the line length.
 */
export function tokenize(line: string): Tokens {
  const tokens: Token[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    const code = line.charCodeAt(i);
    if (isSpace(code)) {
      i += 1;
      continue;
    }
    if (isOperator(code)) {
      tokens.push({
        kind: code === GREATER_THAN ? 'redirect' : 'background',
        text: line.charAt(i),
        start: i,
        end: i + 1,
        quoted: false,
      });
      i += 1;
      continue;
    }
    const start = i;
    let text = '';
    let quoted = false;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (isQuote(c)) {
        quoted = true;
        const quote = c === DOUBLE_QUOTE ? '"' : "'";
        const close = line.indexOf(quote, i + 1);
        if (close < 0) {
          tokens.push({ kind: 'word', text: text + line.slice(i + 1), start, end: n, quoted });
          return { tokens, openQuote: quote };
        }
        text += line.slice(i + 1, close);
        i = close + 1;
        continue;
      }
      if (isSpace(c) || isOperator(c)) break;
      let j = i + 1;
      for (; j < n; j += 1) {
        const d = line.charCodeAt(j);
        if (isSpace(d) || isOperator(d) || isQuote(d)) break;
      }
      text += line.slice(i, j);
      i = j;
    }
    tokens.push({ kind: 'word', text, start, end: i, quoted });
  }
  return { tokens };
}

/** What an unquoted word means to the grammar. */
export type WordRole = 'parameter' | 'doubleDash' | 'value';

const DASH = 0x2d;

function isAsciiLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/** `-letter…` is a parameter, `--letter…` a mistake; anything else, or anything quoted, is a value. */
export function wordRole(token: Token): WordRole {
  // Character codes rather than a regex: this runs for every word of every line, and of every Tab press.
  if (token.quoted || token.text.charCodeAt(0) !== DASH) return 'value';
  const second = token.text.charCodeAt(1);
  if (isAsciiLetter(second)) return 'parameter';
  if (second === DASH && isAsciiLetter(token.text.charCodeAt(2))) return 'doubleDash';
  return 'value';
}

/** Lower-cased parameter name of a `-name` word, without the dash. */
export function parameterName(token: Token): string {
  return token.text.slice(1).toLowerCase();
}

/** Whether `-name` consumes the next word, for this command (`-output` always does). */
export function takesValue(spec: CommandSpec | undefined, name: string): boolean {
  if (name === 'output') return true;
  const param = spec ? findParam(spec, name) : undefined;
  return param !== undefined && param.type !== 'flag';
}

/** Whether the command accepts `-output` and has no positional parameter (so a bare `json`/`table` is the format). */
export function takesPositionalOutput(spec: CommandSpec | undefined): boolean {
  if (!spec) return false;
  return spec.params.some((p) => p.name === 'output') && !spec.params.some((p) => p.position !== undefined);
}

// --- operators ---------------------------------------------------------------------------------------

interface Split {
  words: Token[];
  redirect?: string;
  background: boolean;
}

/** Separates the trailing `> file` and `&` from the words of the command. */
function splitOperators(tokens: readonly Token[]): Split {
  let end = tokens.length;
  const background = tokens[end - 1]?.kind === 'background';
  if (background) end -= 1;
  const body = tokens.slice(0, end);
  if (body.some((t) => t.kind === 'background')) {
    throw new GrammarError("unexpected '&': it may only end the line (quote it to use it in a value)");
  }
  const redirectAt = body.findIndex((t) => t.kind === 'redirect');
  if (redirectAt < 0) return { words: body, background };

  const arrow = body[redirectAt];
  const after = body.slice(redirectAt + 1);
  const next = after[0];
  if (arrow && next?.kind === 'redirect' && next.start === arrow.end) {
    throw new GrammarError("'>>' (append) is not supported: use '> file'");
  }
  if (after.some((t) => t.kind === 'redirect')) throw new GrammarError("only one '>' is allowed");
  if (after.length === 0) throw new GrammarError("unexpected '>' without a file name");
  if (after.length > 1) throw new GrammarError("only one file name may follow '>' (quote names with spaces)");
  const file = after[0]?.text ?? '';
  if (file === '') throw new GrammarError("empty file name after '>'");
  return { words: body.slice(0, redirectAt), redirect: file, background };
}

// --- parsing -----------------------------------------------------------------------------------------

function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i += 1;
    }
    count += 1;
  }
  return count;
}

function parseOutputFormat(value: string): 'json' | 'table' | undefined {
  const lower = value.toLowerCase();
  return lower === 'json' || lower === 'table' ? lower : undefined;
}

function doubleDashError(token: Token): GrammarError {
  return new GrammarError(
    `parameters take a single dash: use -${token.text.slice(2)} (or quote the value ${describeWord(token.text)})`,
  );
}

/** The one-line refusal of a line longer than MAX_LINE_LENGTH characters (code points), else null. */
export function lineLengthRefusal(line: string): string | null {
  if (line.length <= MAX_LINE_LENGTH) return null;
  const n = codePointLength(line);
  return n > MAX_LINE_LENGTH ? `command line is ${n} characters; the limit is ${MAX_LINE_LENGTH}` : null;
}

/**
 * Parses one command line, with the commands of `catalog` (the command catalog; a test passes its own).
 * Throws `GrammarError` (and nothing else) on bad syntax.
 */
export function parseLine(line: string, catalog: readonly CommandSpec[] = CATALOG): ParsedLine {
  const tooLong = lineLengthRefusal(line);
  if (tooLong) throw new GrammarError(tooLong);
  if (line.includes('\u0000')) throw new GrammarError('NUL character in command line');

  const { tokens, openQuote } = tokenize(line);
  if (openQuote) throw new GrammarError(`unterminated quote ${openQuote}`);
  const { words, redirect, background } = splitOperators(tokens);

  const first = words[0];
  if (!first || first.text === '') throw new GrammarError('empty command');
  if (wordRole(first) !== 'value') throw new GrammarError(`expected a command name before ${describeWord(first.text)}`);
  const name = canonicalName(first.text.toLowerCase());
  const spec = findCommand(name, catalog);

  const positionals: string[] = [];
  const named: Record<string, string | true> = {};
  let output: 'json' | 'table' | undefined;

  for (let i = 1; i < words.length; i += 1) {
    const word = words[i];
    if (!word) break;
    const role = wordRole(word);
    if (role === 'doubleDash') throw doubleDashError(word);
    if (role === 'value') {
      positionals.push(word.text);
      continue;
    }
    const param = parameterName(word);
    if (!takesValue(spec, param)) {
      if (Object.hasOwn(named, param)) throw new GrammarError(`-${param} given twice`);
      named[param] = true;
      continue;
    }
    const valueWord = words[i + 1];
    if (!valueWord || wordRole(valueWord) === 'parameter') throw new GrammarError(`missing value for -${param}`);
    if (wordRole(valueWord) === 'doubleDash') throw doubleDashError(valueWord);
    i += 1;
    if (param === 'output') {
      if (output !== undefined) throw new GrammarError('-output given twice');
      output = parseOutputFormat(valueWord.text);
      if (output === undefined)
        throw new GrammarError(`-output must be json or table, not ${describeWord(valueWord.text)}`);
      continue;
    }
    if (Object.hasOwn(named, param)) throw new GrammarError(`-${param} given twice`);
    named[param] = valueWord.text;
  }

  // `connections json`: a trailing json/table is the output format when the command has no positional.
  const last = positionals[positionals.length - 1];
  const trailingFormat = last === undefined || !takesPositionalOutput(spec) ? undefined : parseOutputFormat(last);
  if (trailingFormat !== undefined) {
    if (output !== undefined) throw new GrammarError('output format given twice');
    positionals.pop();
    output = trailingFormat;
  }

  const parsed: ParsedLine = { name, positionals, named, background };
  if (output !== undefined) parsed.output = output;
  if (redirect !== undefined) parsed.redirect = redirect;
  return parsed;
}

// --- quoting -----------------------------------------------------------------------------------------

const NEEDS_QUOTES = /[\s"'>&]/;

/**
 * Quotes a value so that `parseLine` reads it back unchanged as one value word (completion inserts
 * remote paths with it; clients rebuild command lines with it). Plain words are returned as they are.
 */
export function quoteArg(value: string): string {
  if (value !== '' && !NEEDS_QUOTES.test(value) && !value.startsWith('-')) return value;
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  // Both kinds: double-quote everything but the double quotes, which go in single quotes.
  return value
    .split('"')
    .map((part) => (part === '' ? '' : `"${part}"`))
    .join(`'"'`);
}
