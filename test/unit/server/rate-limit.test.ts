// The per-address limit on failed authentications.
import { describe, expect, it } from 'vitest';
import { AuthLimiter } from '../../../src/server/rate-limit.js';

describe('AuthLimiter', () => {
  it('blocks an address after its burst of failures, and forgives it at the refill rate', () => {
    let now = 0;
    const l = new AuthLimiter({ burst: 5, refillPerSec: 1 }, () => now);
    for (let i = 0; i < 5; i++) {
      expect(l.blocked('a')).toBe(false);
      l.failed('a');
    }
    expect(l.blocked('a')).toBe(true);
    expect(l.retryAfterSec('a')).toBe(1);
    expect(l.blocked('b')).toBe(false); // other addresses are not affected
    now += 1000;
    expect(l.blocked('a')).toBe(false);
    l.failed('a');
    expect(l.blocked('a')).toBe(true);
    now += 10_000;
    expect(l.blocked('a')).toBe(false);
  });

  it('never counts successes and remembers a bounded number of addresses', () => {
    const l = new AuthLimiter({ burst: 1, refillPerSec: 0.001, maxAddresses: 100 });
    for (let i = 0; i < 1000; i++) l.failed(`10.0.${i >> 8}.${i & 255}`);
    expect(l.blocked('10.0.3.231')).toBe(true); // the most recent ones are kept
    expect(l.blocked('10.0.0.0')).toBe(false); // the oldest were forgotten
    expect(l.blocked('never-failed')).toBe(false);
  });
});
