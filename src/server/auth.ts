/**
 * Secrets at rest: API tokens and enrollment tokens are stored as SHA-256 of a 256-bit random secret
 * (high entropy, so a plain hash is enough) and compared in constant time.
 * Token format: `lr_<tokenId>_<secret>`; the id finds the row, the secret proves possession.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { newId, newSecret } from '../node/ids.js';

export interface IssuedToken {
  id: string;
  token: string;
  secretHash: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function issueToken(prefix: 'lr' | 'lre'): IssuedToken {
  const id = newId(12);
  const secret = newSecret(32);
  return { id, token: `${prefix}_${id}_${secret}`, secretHash: hashSecret(secret) };
}

export function splitToken(token: string, prefix: 'lr' | 'lre'): { id: string; secret: string } | null {
  const m = new RegExp(`^${prefix}_([0-9a-z]{12})_([A-Za-z0-9_-]{43})$`).exec(token);
  return m ? { id: m[1] as string, secret: m[2] as string } : null;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
