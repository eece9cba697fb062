// The console's own shortcuts (copy, paste, search, "Tab moves focus", tab switching), the type-ahead's
// display, and the arrow keys of the lists: pure decisions, before any DOM.
import { describe, expect, it } from 'vitest';
import { listKeyTarget } from '../../../src/renderer/src/components/list-keys.js';
import {
  consoleKeyAction,
  describeTypeahead,
  tabShortcut,
  targetTab,
  type KeyPress,
} from '../../../src/renderer/src/console/keys.js';
import { parseKeys } from '../../../src/renderer/src/console/line-editor.js';

const key = (k: string, mods: Partial<KeyPress> = {}): KeyPress => ({
  type: 'keydown',
  key: k,
  ctrlKey: false,
  shiftKey: false,
  altKey: false,
  metaKey: false,
  ...mods,
});

describe('consoleKeyAction', () => {
  it('Ctrl+C copies only with a selection; without one it stays the interrupt (the terminal sends ^C)', () => {
    expect(consoleKeyAction(key('c', { ctrlKey: true }), true, false)).toEqual({ kind: 'copy' });
    expect(consoleKeyAction(key('c', { ctrlKey: true }), false, false)).toEqual({ kind: 'terminal' });
    // keyup/keypress of the same key are the terminal's (no second copy).
    expect(consoleKeyAction(key('c', { ctrlKey: true, type: 'keyup' }), true, false)).toEqual({ kind: 'terminal' });
  });
  it('Ctrl+Shift+C and Ctrl+Insert copy; Ctrl+Shift+V and Shift+Insert paste; Ctrl+F searches', () => {
    expect(consoleKeyAction(key('C', { ctrlKey: true, shiftKey: true }), false, false)).toEqual({ kind: 'copy' });
    expect(consoleKeyAction(key('Insert', { ctrlKey: true }), true, false)).toEqual({ kind: 'copy' });
    expect(consoleKeyAction(key('V', { ctrlKey: true, shiftKey: true }), false, false)).toEqual({ kind: 'paste' });
    expect(consoleKeyAction(key('Insert', { shiftKey: true }), false, false)).toEqual({ kind: 'paste' });
    expect(consoleKeyAction(key('f', { ctrlKey: true }), false, false)).toEqual({ kind: 'search' });
  });
  it('Ctrl+M toggles "Tab moves focus"; Tab leaves the terminal only while it is on', () => {
    expect(consoleKeyAction(key('m', { ctrlKey: true }), false, false)).toEqual({ kind: 'toggleTabFocus' });
    expect(consoleKeyAction(key('Tab'), false, false)).toEqual({ kind: 'terminal' });
    expect(consoleKeyAction(key('Tab'), false, true)).toEqual({ kind: 'leave' });
    expect(consoleKeyAction(key('Tab', { shiftKey: true }), false, true)).toEqual({ kind: 'leave' });
  });
  it("leaves the line editor's keys to the terminal", () => {
    for (const press of [
      key('a', { ctrlKey: true }),
      key('u', { ctrlKey: true }),
      key('b', { altKey: true }),
      key('f', { altKey: true }),
      key('ArrowLeft', { ctrlKey: true }),
      key('z', { ctrlKey: true }),
      key('l', { ctrlKey: true }),
    ]) {
      expect(consoleKeyAction(press, true, false)).toEqual({ kind: 'terminal' });
    }
  });
});

describe('tab shortcuts', () => {
  it('Ctrl+PageUp/PageDown cycle, Alt+1..8 pick, Alt+9 is the last tab', () => {
    expect(tabShortcut(key('PageDown', { ctrlKey: true }))).toEqual({ kind: 'nextTab' });
    expect(tabShortcut(key('PageUp', { ctrlKey: true }))).toEqual({ kind: 'previousTab' });
    expect(tabShortcut(key('¡', { altKey: true, code: 'Digit1' }))).toEqual({ kind: 'tabAt', index: 0 });
    expect(tabShortcut(key('PageDown'))).toBeUndefined();
    expect(tabShortcut(key('1', { ctrlKey: true, code: 'Digit1' }))).toBeUndefined();
    expect(targetTab({ kind: 'nextTab' }, 2, 3)).toBe(0);
    expect(targetTab({ kind: 'previousTab' }, 0, 3)).toBe(2);
    expect(targetTab({ kind: 'tabAt', index: 1 }, 0, 3)).toBe(1);
    expect(targetTab({ kind: 'tabAt', index: 5 }, 0, 3)).toBeUndefined();
    expect(targetTab({ kind: 'tabAt', index: 8 }, 0, 3)).toBe(2);
  });
});

describe('describeTypeahead', () => {
  it('shows the lines the keys make, Enter as ⏎, edits applied', () => {
    expect(describeTypeahead(parseKeys('cd /tmp\rdir'))).toBe('cd /tmp ⏎ dir');
    expect(describeTypeahead(parseKeys('processez\x7fs\r'))).toBe('processes ⏎');
    expect(describeTypeahead([])).toBe('');
  });
});

describe('listKeyTarget', () => {
  it('steps with the arrows within the list, starts at the first row, Enter opens the current one', () => {
    expect(listKeyTarget('ArrowDown', -1, 5)).toBe(0);
    expect(listKeyTarget('ArrowDown', 4, 5)).toBe(4);
    expect(listKeyTarget('ArrowUp', 0, 5)).toBe(0);
    expect(listKeyTarget('ArrowUp', 3, 5)).toBe(2);
    expect(listKeyTarget('Enter', -1, 5)).toBe(0);
    expect(listKeyTarget('a', 1, 5)).toBeUndefined();
    expect(listKeyTarget('ArrowDown', -1, 0)).toBeUndefined();
  });
});
