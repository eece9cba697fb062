import { describe, expect, it } from 'vitest';
import { createToken, tokensMatch } from '../../../src/main/browser-shell/token.js';
import { checkUpgrade, type UpgradePolicy } from '../../../src/main/browser-shell/upgrade-auth.js';

const token = createToken();
const policy: UpgradePolicy = {
  token,
  allowedOrigins: ['http://127.0.0.1:4000'],
  allowedHosts: ['127.0.0.1:4000'],
};
const goodHeaders = { origin: 'http://127.0.0.1:4000', host: '127.0.0.1:4000' };

describe('browser shell token', () => {
  it('is 32 random bytes in base64url', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createToken()).not.toBe(token);
  });

  it('matches only itself', () => {
    expect(tokensMatch(token, token)).toBe(true);
    expect(tokensMatch(`${token}x`, token)).toBe(false);
    expect(tokensMatch(token.slice(1), token)).toBe(false);
    expect(tokensMatch('', token)).toBe(false);
    expect(tokensMatch(null, token)).toBe(false);
  });
});

describe('checkUpgrade', () => {
  it('accepts /ipc with the token from our own origin and host', () => {
    expect(checkUpgrade({ url: `/ipc?token=${token}`, headers: goodHeaders }, policy)).toEqual({ ok: true });
  });

  it('answers 401 without the right token', () => {
    expect(checkUpgrade({ url: '/ipc', headers: goodHeaders }, policy)).toMatchObject({ ok: false, status: 401 });
    expect(checkUpgrade({ url: '/ipc?token=', headers: goodHeaders }, policy)).toMatchObject({ ok: false, status: 401 });
    expect(checkUpgrade({ url: `/ipc?token=${createToken()}`, headers: goodHeaders }, policy)).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 403 for another or a missing origin, and for another host', () => {
    const url = `/ipc?token=${token}`;
    for (const origin of ['http://localhost:4000', 'http://127.0.0.1:4001', 'https://127.0.0.1:4000', 'null', 'http://evil.example']) {
      expect(checkUpgrade({ url, headers: { ...goodHeaders, origin } }, policy)).toMatchObject({ ok: false, status: 403 });
    }
    expect(checkUpgrade({ url, headers: { host: goodHeaders.host } }, policy)).toMatchObject({ ok: false, status: 403 });
    expect(checkUpgrade({ url, headers: { ...goodHeaders, host: 'evil.example:4000' } }, policy)).toMatchObject({ ok: false, status: 403 });
  });

  it('answers 404 for other paths', () => {
    expect(checkUpgrade({ url: `/other?token=${token}`, headers: goodHeaders }, policy)).toMatchObject({ ok: false, status: 404 });
  });
});
