/**
 * Console output goes to xterm.js in pieces: xterm parses one write at a time and yields to the page only
 * between writes (~every 12 ms), so a 200 000-character batch written at once kept clicks waiting ~150 ms.
 */

/** The largest piece of text given to xterm in one write. */
export const WRITE_CHUNK_CHARS = 32_768;

/**
 * `text` cut into pieces of at most `max` characters (after a newline when there is one), with `weight`
 * shared among them in proportion: the shares add up to exactly `weight`, what main counts as unacknowledged
 * (output-channel.ts), or its flow control would stall or run ahead.
 */
export function writePieces(text: string, weight: number, max = WRITE_CHUNK_CHARS): { text: string; weight: number }[] {
  if (text.length <= max) return [{ text, weight }];
  const pieces: { text: string; weight: number }[] = [];
  let acknowledged = 0;
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + max);
    if (end < text.length) {
      const newline = text.lastIndexOf('\n', end - 1);
      if (newline >= start) end = newline + 1;
      else if (isHighSurrogate(text.charCodeAt(end - 1)) && end - 1 > start) end -= 1; // never half a character
    }
    const share = end === text.length ? weight - acknowledged : Math.floor((weight * end) / text.length) - acknowledged;
    acknowledged += share;
    pieces.push({ text: text.slice(start, end), weight: share });
    start = end;
  }
  return pieces;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
