// Per-token call limits of the automation API: the vendor's 10 calls per minute starting work,
// the 11th answered with the seconds to wait; a sliding window; tokens and budgets counted apart.
import { describe, expect, it } from 'vitest';
import { ApiRateLimiter, apiRateClassOf } from '../../../src/server/api-rate-limit.js';

describe('API rate limit', () => {
  it('refuses the 11th call within a minute with the seconds until the oldest call leaves the window', () => {
    let now = 0;
    const l = new ApiRateLimiter(() => now);
    for (let i = 0; i < 10; i++) {
      expect(l.take('lr_tok_a', 'start', 10), `call ${i + 1}`).toEqual({ ok: true });
      now += 1000;
    }
    expect(l.take('lr_tok_a', 'start', 10)).toEqual({ ok: false, retryAfterSec: 50 });
    // Refused calls do not count: once the first call is 60 s old one more goes through, then the next waits again.
    now = 60_000;
    expect(l.take('lr_tok_a', 'start', 10)).toEqual({ ok: true });
    expect(l.take('lr_tok_a', 'start', 10)).toEqual({ ok: false, retryAfterSec: 1 });
    // Another token, and another budget of the same token, are counted apart.
    expect(l.take('lr_tok_b', 'start', 10)).toEqual({ ok: true });
    expect(l.take('lr_tok_a', 'read', 100)).toEqual({ ok: true });
  });

  it('limits starting work and machine action reads; not the console, inventory or our batch reads', () => {
    expect(apiRateClassOf('POST', '/api/v1/machines/web-1/runliveresponse')).toBe('start');
    expect(apiRateClassOf('POST', '/api/v1/batches')).toBe('start');
    expect(apiRateClassOf('POST', '/api/v1/devices/web-1/commands')).toBe('start');
    expect(apiRateClassOf('GET', '/api/v1/machineactions')).toBe('read');
    expect(apiRateClassOf('GET', '/api/v1/machineactions/abc/GetLiveResponseResultDownloadLink(index=0)')).toBe('read');
    expect(apiRateClassOf('POST', '/api/v1/machineactions/abc/cancel')).toBe('read');
    expect(apiRateClassOf('GET', '/api/v1/batches')).toBeNull();
    expect(apiRateClassOf('GET', '/api/v1/batches/abc')).toBeNull();
    expect(apiRateClassOf('GET', '/api/v1/devices')).toBeNull();
  });
});
