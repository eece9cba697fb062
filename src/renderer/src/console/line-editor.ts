/**
 * The console's input line: what the keys do (readline-like), as pure state transitions, plus the escape
 * sequences that redraw the prompt and the line in xterm (wrapping over several rows included).
 * No DOM, no xterm: unit-tested on its own.
 */
import { displayWidth } from '../../../shared/commands/format.js';

export type Key =
  | { kind: 'insert'; text: string }
  | { kind: 'enter' }
  | { kind: 'backspace' }
  | { kind: 'delete' }
  | { kind: 'left' }
  | { kind: 'right' }
  | { kind: 'home' }
  | { kind: 'end' }
  | { kind: 'up' }
  | { kind: 'down' }
  | { kind: 'tab' }
  | { kind: 'interrupt' } // Ctrl+C
  | { kind: 'suspend' } // Ctrl+Z
  | { kind: 'killStart' } // Ctrl+U
  | { kind: 'killEnd' } // Ctrl+K
  | { kind: 'killWord' } // Ctrl+W
  | { kind: 'clear' } // Ctrl+L
  | { kind: 'wordLeft' }
  | { kind: 'wordRight' };

const SEQUENCES: readonly (readonly [string, Key])[] = [
  ['\x1b[1;5D', { kind: 'wordLeft' }],
  ['\x1b[1;5C', { kind: 'wordRight' }],
  ['\x1b[3~', { kind: 'delete' }],
  ['\x1b[1~', { kind: 'home' }],
  ['\x1b[4~', { kind: 'end' }],
  ['\x1b[A', { kind: 'up' }],
  ['\x1b[B', { kind: 'down' }],
  ['\x1b[C', { kind: 'right' }],
  ['\x1b[D', { kind: 'left' }],
  ['\x1b[H', { kind: 'home' }],
  ['\x1b[F', { kind: 'end' }],
  ['\x1bOA', { kind: 'up' }],
  ['\x1bOB', { kind: 'down' }],
  ['\x1bOC', { kind: 'right' }],
  ['\x1bOD', { kind: 'left' }],
  ['\x1bOH', { kind: 'home' }],
  ['\x1bOF', { kind: 'end' }],
  ['\x1bb', { kind: 'wordLeft' }],
  ['\x1bf', { kind: 'wordRight' }],
];

const CONTROLS: Readonly<Record<string, Key>> = {
  '\r': { kind: 'enter' },
  '\n': { kind: 'enter' },
  '\x7f': { kind: 'backspace' },
  '\b': { kind: 'backspace' },
  '\t': { kind: 'tab' },
  '\x01': { kind: 'home' },
  '\x05': { kind: 'end' },
  '\x02': { kind: 'left' },
  '\x06': { kind: 'right' },
  '\x03': { kind: 'interrupt' },
  '\x1a': { kind: 'suspend' },
  '\x15': { kind: 'killStart' },
  '\x0b': { kind: 'killEnd' },
  '\x17': { kind: 'killWord' },
  '\x0c': { kind: 'clear' },
  '\x04': { kind: 'delete' },
  '\x10': { kind: 'up' },
  '\x0e': { kind: 'down' },
};

/** Splits what xterm's onData delivered (one key, a paste, or several fast keys) into keys. */
export function parseKeys(data: string): Key[] {
  const keys: Key[] = [];
  let text = '';
  const flush = (): void => {
    if (text) keys.push({ kind: 'insert', text });
    text = '';
  };
  for (let i = 0; i < data.length;) {
    const ch = data[i] as string;
    if (ch === '\x1b') {
      flush();
      const seq = SEQUENCES.find(([s]) => data.startsWith(s, i));
      if (seq) {
        keys.push(seq[1]);
        i += seq[0].length;
        continue;
      }
      // Bracketed paste markers and unknown sequences are skipped whole (ESC [ params final).
      const unknown = /^\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O.|.)?/.exec(data.slice(i));
      i += unknown?.[0].length || 1;
      continue;
    }
    // A pasted "\r\n" is one Enter.
    if (ch === '\r' && data[i + 1] === '\n') {
      flush();
      keys.push({ kind: 'enter' });
      i += 2;
      continue;
    }
    const control = CONTROLS[ch];
    if (control) {
      flush();
      keys.push(control);
      i += 1;
      continue;
    }
    if (ch < ' ') {
      i += 1; // other control characters are not typed into a command line
      continue;
    }
    text += ch;
    i += 1;
  }
  flush();
  return keys;
}

export interface LineState {
  readonly text: string;
  /** Index into `text` (UTF-16 units). */
  readonly cursor: number;
}

export const EMPTY_LINE: LineState = { text: '', cursor: 0 };

const WORD_CHARS = /[^\s/]/;

function wordStart(text: string, from: number): number {
  let i = from;
  while (i > 0 && !WORD_CHARS.test(text[i - 1] as string)) i -= 1;
  while (i > 0 && WORD_CHARS.test(text[i - 1] as string)) i -= 1;
  return i;
}

function wordEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && !WORD_CHARS.test(text[i] as string)) i += 1;
  while (i < text.length && WORD_CHARS.test(text[i] as string)) i += 1;
  return i;
}

/** Applies an editing key; other keys (enter, tab, history, ...) leave the line as it is. */
export function edit(line: LineState, key: Key): LineState {
  const { text, cursor } = line;
  switch (key.kind) {
    case 'insert': {
      const inserted = key.text.replace(/[\r\n]+/g, ' ');
      return { text: text.slice(0, cursor) + inserted + text.slice(cursor), cursor: cursor + inserted.length };
    }
    case 'backspace': {
      if (cursor === 0) return line;
      const step = isLowSurrogate(text, cursor - 1) ? 2 : 1;
      return { text: text.slice(0, cursor - step) + text.slice(cursor), cursor: cursor - step };
    }
    case 'delete': {
      if (cursor >= text.length) return line;
      const step = isHighSurrogate(text, cursor) ? 2 : 1;
      return { text: text.slice(0, cursor) + text.slice(cursor + step), cursor };
    }
    case 'left':
      return { text, cursor: Math.max(0, cursor - (isLowSurrogate(text, cursor - 1) ? 2 : 1)) };
    case 'right':
      return { text, cursor: Math.min(text.length, cursor + (isHighSurrogate(text, cursor) ? 2 : 1)) };
    case 'home':
      return { text, cursor: 0 };
    case 'end':
      return { text, cursor: text.length };
    case 'killStart':
      return { text: text.slice(cursor), cursor: 0 };
    case 'killEnd':
      return { text: text.slice(0, cursor), cursor };
    case 'killWord': {
      const start = wordStart(text, cursor);
      return { text: text.slice(0, start) + text.slice(cursor), cursor: start };
    }
    case 'wordLeft':
      return { text, cursor: wordStart(text, cursor) };
    case 'wordRight':
      return { text, cursor: wordEnd(text, cursor) };
    default:
      return line;
  }
}

function isHighSurrogate(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 0xd800 && code <= 0xdbff && index + 1 < text.length;
}

function isLowSurrogate(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return index > 0 && code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Escape sequences that redraw prompt + line from the row where the input starts, given the row (relative
 * to that start) the cursor was left on by the previous draw. Returns the sequences and the cursor's new row.
 * `prompt` may contain SGR colour sequences; `promptWidth` is its width in cells.
 */
export function redraw(
  prompt: string,
  promptWidth: number,
  line: LineState,
  cols: number,
  previousCursorRow: number,
): { out: string; cursorRow: number } {
  const width = Math.max(1, cols);
  let out = '';
  if (previousCursorRow > 0) out += `\x1b[${previousCursorRow}A`;
  out += '\r\x1b[J';
  out += prompt + line.text;
  const total = promptWidth + displayWidth(line.text);
  // xterm leaves the cursor in a "pending wrap" state after the last column: force the wrap so that the
  // arithmetic below holds (and the cursor shows on the next row).
  if (total > 0 && total % width === 0) out += ' \r\x1b[K';
  const endRow = Math.floor(total / width);
  const at = promptWidth + displayWidth(line.text.slice(0, line.cursor));
  const row = Math.floor(at / width);
  const col = at % width;
  if (endRow > row) out += `\x1b[${endRow - row}A`;
  out += '\r';
  if (col > 0) out += `\x1b[${col}C`;
  return { out, cursorRow: row };
}

/** The longest common prefix of completion candidates. */
export function commonPrefix(values: readonly string[]): string {
  if (values.length === 0) return '';
  let prefix = values[0] as string;
  for (const value of values) {
    let i = 0;
    while (i < prefix.length && i < value.length && prefix[i] === value[i]) i += 1;
    prefix = prefix.slice(0, i);
  }
  return prefix;
}
