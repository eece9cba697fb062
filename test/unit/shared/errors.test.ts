// One way to turn a caught value into the text a user reads: an Error's message exactly (the text users saw
// before `describeError` replaced the `(e as Error).message` casts), anything else as a string.
import { describe, expect, it } from 'vitest';
import { describeError, describeErrorOneLine } from '../../../src/shared/errors.js';
import { oneLine } from '../../../src/shared/commands/format.js';

describe('describeError', () => {
  it('gives an Error its message, unchanged, whatever its class or cause', () => {
    expect(describeError(new Error('cannot open x: permission denied'))).toBe('cannot open x: permission denied');
    expect(describeError(new TypeError('bad\ntwo lines'))).toBe('bad\ntwo lines');
    const wrapped = new Error('cannot save: disk full', { cause: new Error('ENOSPC') });
    expect(describeError(wrapped)).toBe('cannot save: disk full');
  });

  it('gives anything else as a string, never "undefined" from a missing message', () => {
    expect(describeError('plain text')).toBe('plain text');
    expect(describeError(42)).toBe('42');
    expect(describeError(undefined)).toBe('undefined');
    expect(describeError({ message: 'not an Error' })).toBe('[object Object]');
  });

  it('describeErrorOneLine collapses whitespace and cuts with an ellipsis', () => {
    expect(describeErrorOneLine(new Error('first line\n  second\tline\n'))).toBe('first line second line');
    expect(describeErrorOneLine(new Error('abcdefghij'), 5)).toBe('abcd…');
  });
});

describe('oneLine', () => {
  it('keeps short text, collapses whitespace runs, trims, cuts at max with "…"', () => {
    expect(oneLine('  a \r\n b  ')).toBe('a b');
    expect(oneLine('12345', 5)).toBe('12345');
    expect(oneLine('123456', 5)).toBe('1234…');
  });
});
