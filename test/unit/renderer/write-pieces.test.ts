// The console's writes into xterm: pieces small enough for xterm to yield between them, and their
// acknowledgement shares adding up to the batch's weight (main's flow control counts exactly that).
import { describe, expect, it } from 'vitest';
import { WRITE_CHUNK_CHARS, writePieces } from '../../../src/renderer/src/console/write-pieces.js';

describe('writePieces', () => {
  it('keeps a short write whole, with its weight', () => {
    expect(writePieces('abc\n', 17)).toEqual([{ text: 'abc\n', weight: 17 }]);
  });

  it('cuts a batch after newlines into pieces of at most the limit, the text unchanged, the shares adding up to the weight', () => {
    const rows = Array.from(
      { length: 1_500 },
      (_, i) => `${String(i).padStart(6, '0')} /evidence/${'x'.repeat(i % 150)}.log`,
    );
    const text = `${rows.join('\n')}\n`;
    for (const weight of [text.length, 262_143, 1, 0, 7]) {
      const pieces = writePieces(text, weight);
      expect(pieces.length).toBeGreaterThan(1);
      expect(pieces.map((p) => p.text).join('')).toBe(text);
      expect(pieces.reduce((sum, p) => sum + p.weight, 0)).toBe(weight);
      for (const piece of pieces) {
        expect(piece.text.length).toBeLessThanOrEqual(WRITE_CHUNK_CHARS);
        expect(piece.text.endsWith('\n')).toBe(true);
        expect(piece.weight).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('cuts a line without newlines between characters, never inside a surrogate pair', () => {
    const text = `a${'😀'.repeat(50)}`;
    const pieces = writePieces(text, 1_000, 10);
    expect(pieces.map((p) => p.text).join('')).toBe(text);
    expect(pieces.reduce((sum, p) => sum + p.weight, 0)).toBe(1_000);
    // A lone surrogate at either end of a piece would be half a character.
    for (const piece of pieces) expect(piece.text).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
  });
});
