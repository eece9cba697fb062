/** Random identifiers. Command IDs are short because analysts type them (`fg 3kq9x2ma`). */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijkmnpqrstuvwxyz'; // no l/o: easy to read aloud and retype

export function newId(length = 10): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
