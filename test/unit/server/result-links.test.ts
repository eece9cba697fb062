// Machine action result links: the link is the credential, so it serves once, for 30 minutes,
// and the service keeps only its hash.
import { describe, expect, it } from 'vitest';
import { ResultLinks, RESULT_LINK_TTL_MS } from '../../../src/server/result-links.js';

const grant = { actionId: 'a1', deviceId: 'd1', step: 2, type: 'GetFile' as const };

describe('result links', () => {
  it('serve once: the second use is refused as used (410)', () => {
    const links = new ResultLinks();
    const token = links.issue(grant);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(links.redeem(token)).toEqual({ ok: true, grant });
    expect(links.redeem(token)).toEqual({
      ok: false,
      status: 410,
      error: 'this result link was already used: links serve once (ask for a new one)',
    });
  });

  it('expire after 30 minutes (404), and an unknown or malformed token is 404', () => {
    let now = 1_000_000;
    const links = new ResultLinks(RESULT_LINK_TTL_MS, () => now);
    const token = links.issue(grant);
    now += RESULT_LINK_TTL_MS;
    expect(links.redeem(token)).toMatchObject({ ok: false, status: 404 });
    expect(links.redeem('x'.repeat(43))).toMatchObject({ ok: false, status: 404 });
    expect(links.redeem('../etc/passwd')).toMatchObject({ ok: false, status: 404 });
    const fresh = links.issue(grant);
    now += RESULT_LINK_TTL_MS - 1;
    expect(links.redeem(fresh)).toMatchObject({ ok: true });
  });

  it('keep only the hash of the token, never the token', () => {
    const links = new ResultLinks();
    const token = links.issue(grant);
    const kept = JSON.stringify([...(links as unknown as { links: Map<string, unknown> }).links.entries()]);
    expect(kept).not.toContain(token);
    expect(kept).toContain('"actionId":"a1"');
  });
});
