/**
 * The console's own keyboard shortcuts, decided before xterm turns a key into terminal input (as VS Code's
 * and Windows Terminal's terminals do): copy with a selection, paste, search, the "Tab moves focus" toggle
 * and the shortcuts between console tabs. Pure: unit-tested without a DOM.
 */
import { edit, EMPTY_LINE, type Key } from './line-editor.js';

/** The fields of a KeyboardEvent the decision needs. */
export interface KeyPress {
  type: string;
  key: string;
  code?: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

export type ConsoleKeyAction =
  /** Copy the selection to the clipboard (nothing is sent to the device). */
  | { kind: 'copy' }
  /** Paste the clipboard into the line editor. */
  | { kind: 'paste' }
  /** Open the search bar. */
  | { kind: 'search' }
  /** Toggle "Tab moves focus". */
  | { kind: 'toggleTabFocus' }
  /** Tab while "Tab moves focus" is on: the browser moves the focus, the terminal does not see the key. */
  | { kind: 'leave' }
  | { kind: 'nextTab' }
  | { kind: 'previousTab' }
  /** Alt+1..9: the tab at this index (0-based; 8 is the last tab, as in browsers). */
  | { kind: 'tabAt'; index: number }
  /** An ordinary key: xterm handles it (typing, Ctrl+C without a selection interrupts, ...). */
  | { kind: 'terminal' };

const TERMINAL: ConsoleKeyAction = { kind: 'terminal' };

/** What a key pressed in a console does. `hasSelection`: the terminal has selected text. */
export function consoleKeyAction(event: KeyPress, hasSelection: boolean, tabMovesFocus: boolean): ConsoleKeyAction {
  if (event.type !== 'keydown' || event.metaKey) return TERMINAL;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const ctrl = event.ctrlKey && !event.altKey;
  // Copy: Ctrl+C only with a selection (without one it is the interrupt), Ctrl+Shift+C, Ctrl+Insert.
  if (ctrl && !event.shiftKey && key === 'c' && hasSelection) return { kind: 'copy' };
  if (ctrl && event.shiftKey && key === 'c') return { kind: 'copy' };
  if (ctrl && !event.shiftKey && key === 'Insert') return { kind: 'copy' };
  if (ctrl && event.shiftKey && key === 'v') return { kind: 'paste' };
  if (!event.ctrlKey && !event.altKey && event.shiftKey && key === 'Insert') return { kind: 'paste' };
  if (ctrl && !event.shiftKey && key === 'f') return { kind: 'search' };
  if (ctrl && !event.shiftKey && key === 'm') return { kind: 'toggleTabFocus' };
  if (tabMovesFocus && key === 'Tab' && !event.ctrlKey && !event.altKey) return { kind: 'leave' };
  return tabShortcut(event) ?? TERMINAL;
}

/**
 * Shortcuts between console tabs, wherever the focus is on the Consoles page: Ctrl+PageDown / Ctrl+PageUp
 * and Alt+1..9. None of them is a key of the line editor (it uses Alt+B/F, Ctrl+letters and the arrows).
 */
export function tabShortcut(event: KeyPress): ConsoleKeyAction | undefined {
  if (event.type !== 'keydown' || event.metaKey) return undefined;
  if (event.ctrlKey && !event.altKey && !event.shiftKey) {
    if (event.key === 'PageDown') return { kind: 'nextTab' };
    if (event.key === 'PageUp') return { kind: 'previousTab' };
  }
  if (event.altKey && !event.ctrlKey && !event.shiftKey) {
    // By code: with Alt, some layouts report another character in `key`.
    const digit = /^Digit([1-9])$/.exec(event.code ?? '')?.[1] ?? (/^[1-9]$/.test(event.key) ? event.key : undefined);
    if (digit) return { kind: 'tabAt', index: Number(digit) - 1 };
  }
  return undefined;
}

/** The tab a tab shortcut leads to, among `count` tabs with `current` active. */
export function targetTab(action: ConsoleKeyAction, current: number, count: number): number | undefined {
  if (count === 0) return undefined;
  switch (action.kind) {
    case 'nextTab':
      return (current + 1) % count;
    case 'previousTab':
      return (current - 1 + count) % count;
    case 'tabAt':
      return action.index === 8 ? count - 1 : action.index < count ? action.index : undefined;
    default:
      return undefined;
  }
}

/** The console's second greeting line: the keys an analyst coming from another terminal looks for. */
export const SHORTCUTS_LINE =
  'Select and Ctrl+C copies; Ctrl+Shift+V pastes; Ctrl+F searches; Ctrl+M: Tab moves focus; Alt+1..9 switch tabs';

/** All the shortcuts, as the tooltip of the line under the terminal shows them. */
export const SHORTCUTS_HELP =
  'Ctrl+C copies a selection (interrupts without one) · Ctrl+Shift+C / Ctrl+Insert copy · Ctrl+Shift+V / Shift+Insert paste · ' +
  'Ctrl+F searches · Ctrl+M: Tab moves focus · Ctrl+PageUp/PageDown, Alt+1..9 switch tabs';

/** Keys typed ahead while a command runs, as the lines they make: 'ls -l ⏎ pwd'. */
export function describeTypeahead(keys: readonly Key[]): string {
  const lines: string[] = [];
  let line = EMPTY_LINE;
  for (const key of keys) {
    if (key.kind === 'enter') {
      lines.push(`${line.text} ⏎`);
      line = EMPTY_LINE;
    } else {
      line = edit(line, key);
    }
  }
  if (line.text !== '') lines.push(line.text);
  return lines.join(' ');
}
