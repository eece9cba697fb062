/**
 * Tab completion for the console and the CLI. Pure: it looks only at the line, the catalog and the library
 * names the caller passes (`run`, `putfile`: see `completesLibrary`, asked first so that the caller fetches
 * the library's names only when they are needed). Remote
 * paths need the device's directory listing, so for them it only says where the path starts and what has
 * been typed (`kind: 'path'`); the caller fetches the listing and inserts `quoteArg(candidate)`.
 *
 * Only the text before the cursor is considered; the caller replaces `line.slice(replaceFrom, cursor)`
 * with the chosen candidate. `replaceFrom` is the start of the word being typed, its opening quote
 * included, so a replacement must be a complete word (commands and flags need no quoting; paths and
 * values should go through `quoteArg`).
 */

import { findCommand, findParam, type CommandSpec, type ParamSpec } from './catalog.js';
import {
  parameterName,
  quoteArg,
  takesPositionalOutput,
  takesValue,
  tokenize,
  wordRole,
  type Token,
} from './grammar.js';

export interface CompletionContext {
  /** Command names this user may run on this device (from `help`), in display order. */
  commands: readonly string[];
  /** Names of the tenant's library files, for `run` and `putfile` (undefined: not known, nothing offered). */
  library?: readonly string[] | undefined;
  /** The commands' definitions: the command catalog unless given (a test's own catalog). */
  catalog?: readonly CommandSpec[];
}

export interface Completion {
  replaceFrom: number;
  candidates: string[];
  /** `value`: fixed values of an enum parameter (`trace de` → `debug`) or of `-output`. */
  kind: 'command' | 'flag' | 'path' | 'value' | 'none';
  /** For `kind: 'path'`: the remote path typed so far, quotes removed. */
  pathPrefix?: string;
}

const OUTPUT_FORMATS = ['json', 'table'] as const;

function none(cursor: number): Completion {
  return { replaceFrom: cursor, candidates: [], kind: 'none' };
}

function startingWith(options: readonly string[], typed: string): string[] {
  const lower = typed.toLowerCase();
  return options.filter((option) => option.toLowerCase().startsWith(lower));
}

/** The parameter the word after `before` fills: the value of a `-name`, or the next positional. */
function slotParam(spec: CommandSpec, before: readonly Token[]): ParamSpec | 'output' | undefined {
  let positional = 0;
  for (let i = 1; i < before.length; i += 1) {
    const word = before[i];
    if (!word || wordRole(word) !== 'parameter') {
      positional += 1;
      continue;
    }
    const name = parameterName(word);
    if (!takesValue(spec, name)) continue;
    if (i === before.length - 1) return name === 'output' ? 'output' : findParam(spec, name);
    i += 1; // skip the value
  }
  const param = spec.params.find((p) => p.position === positional);
  if (param) return param;
  return takesPositionalOutput(spec) ? 'output' : undefined;
}

function completeFlag(spec: CommandSpec, before: readonly Token[], current: Token): string[] {
  const given = new Set(before.filter((t) => wordRole(t) === 'parameter').map(parameterName));
  const flags = spec.params
    .filter((p) => !given.has(p.name) && !p.aliases?.some((a) => given.has(a)))
    .flatMap((p) => [p.name, ...(p.aliases ?? [])].map((n) => `-${n}`));
  return startingWith(flags, current.text).sort();
}

/** Whether the word under the cursor is a library file name (`run tr|`, `putfile |`): the names are worth fetching. */
export function completesLibrary(line: string, cursor: number): boolean {
  let asked = false;
  complete(line, cursor, {
    commands: [],
    get library() {
      asked = true;
      return [];
    },
  });
  return asked;
}

export function complete(line: string, cursor: number, ctx: CompletionContext): Completion {
  const at = Math.max(0, Math.min(Number.isFinite(cursor) ? Math.floor(cursor) : line.length, line.length));
  const { tokens, openQuote } = tokenize(line.slice(0, at));

  // The word under the cursor: the last token if the cursor touches it, else a new empty word.
  const lastToken = tokens[tokens.length - 1];
  const touching =
    lastToken !== undefined && lastToken.kind === 'word' && (openQuote !== undefined || lastToken.end === at);
  const current: Token = touching ? lastToken : { kind: 'word', text: '', start: at, end: at, quoted: false };
  const before = touching ? tokens.slice(0, -1) : tokens;

  // After `>` (a local evidence file name) or `&` there is nothing to complete.
  if (before.some((t) => t.kind !== 'word')) return none(at);

  if (before.length === 0) {
    return { replaceFrom: current.start, candidates: startingWith(ctx.commands, current.text), kind: 'command' };
  }
  const spec = findCommand((before[0]?.text ?? '').toLowerCase(), ctx.catalog);
  if (!spec) return none(at);

  const slot = slotParam(spec, before);
  const previous = before[before.length - 1];
  const fillsNamedValue =
    previous !== undefined && wordRole(previous) === 'parameter' && takesValue(spec, parameterName(previous));
  const typingFlag = wordRole(current) === 'parameter' || (!current.quoted && current.text === '-');
  if (typingFlag && !fillsNamedValue) {
    return { replaceFrom: current.start, candidates: completeFlag(spec, before, current), kind: 'flag' };
  }

  if (slot === 'output')
    return { replaceFrom: current.start, candidates: startingWith(OUTPUT_FORMATS, current.text), kind: 'value' };
  if (!slot) return none(at);
  if (slot.complete === 'remotePath')
    return { replaceFrom: current.start, candidates: [], kind: 'path', pathPrefix: current.text };
  if (slot.complete === 'library') {
    const names = ctx.library ?? [];
    const typed = current.text;
    return {
      replaceFrom: current.start,
      candidates: names
        .filter((name) => name.startsWith(typed))
        .sort()
        .map(quoteArg),
      kind: 'value',
    };
  }
  if (slot.complete === 'command')
    return { replaceFrom: current.start, candidates: startingWith(ctx.commands, current.text), kind: 'command' };
  if (slot.type === 'enum')
    return { replaceFrom: current.start, candidates: startingWith(slot.values ?? [], current.text), kind: 'value' };
  return none(at);
}
