/**
 * What the user reads when something failed. Every layer turns a caught value into text through these, so
 * a thrown string, a rejected non-Error or an Error all read the same way and nobody casts `(e as Error)`.
 *
 * The text is the error's own message only: the causes of a wrapped error (`new Error(…, { cause })`) are
 * quoted in its message where the user needs them, and kept in `cause` for logs and debuggers.
 */
import { oneLine } from './commands/format.js';

/** An Error's message, or the thrown value as a string (`throw 'x'`, a rejected number, …). */
export function describeError(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

/** describeError on one line: whitespace runs (newlines included) become one space; cut at `max` characters. */
export function describeErrorOneLine(thrown: unknown, max?: number): string {
  return oneLine(describeError(thrown), max);
}
