import { describe, expect, it } from 'vitest';
import { cookieValues, createShellSessions } from '../../../src/main/browser-shell/shell-session.js';
import { createToken, tokensMatch } from '../../../src/main/browser-shell/token.js';
import { checkUpgrade, type UpgradePolicy } from '../../../src/main/browser-shell/upgrade-auth.js';

const token = createToken();

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

describe('the one-time launch token', () => {
  it('is traded once for an HttpOnly, SameSite=Strict session cookie that is not the token', () => {
    const sessions = createShellSessions(4000);
    const first = sessions.exchange(sessions.launchToken);
    if (!first.ok) throw new Error(first.reason);
    expect(first.setCookie).toMatch(/^lr_shell_4000=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(first.setCookie).not.toContain(sessions.launchToken);
    const cookie = first.setCookie.split(';', 1)[0] ?? '';
    expect(sessions.hasSession(cookie)).toBe(true);
    expect(sessions.hasSession(`other=1; ${cookie}; more=2`)).toBe(true);

    expect(sessions.exchange(sessions.launchToken)).toEqual({
      ok: false,
      reason: expect.stringContaining('already used') as string,
    });
    // The launch token is no session, and another shell's cookie of the same value is not ours.
    expect(sessions.hasSession(`lr_shell_4000=${sessions.launchToken}`)).toBe(false);
    expect(sessions.hasSession(cookie.replace('lr_shell_4000', 'lr_shell_4001'))).toBe(false);
    expect(sessions.hasSession(undefined)).toBe(false);
  });

  it('refuses a wrong or missing token without using up the right one', () => {
    const sessions = createShellSessions(4000);
    for (const given of [createToken(), '', null, undefined])
      expect(sessions.exchange(given)).toMatchObject({ ok: false, reason: 'wrong or missing launch token' });
    expect(sessions.exchange(sessions.launchToken).ok).toBe(true);
  });

  it('reads every value of a cookie name', () => {
    expect(cookieValues('a=1; b=2;a=3 ; c', 'a')).toEqual(['1', '3']);
    expect(cookieValues(undefined, 'a')).toEqual([]);
  });
});

describe('checkUpgrade', () => {
  const session = 'lr_shell_4000=good';
  const policy: UpgradePolicy = {
    hasSession: (cookie) => cookie === session,
    allowedOrigins: ['http://127.0.0.1:4000'],
    allowedHosts: ['127.0.0.1:4000'],
  };
  const goodHeaders = { origin: 'http://127.0.0.1:4000', host: '127.0.0.1:4000', cookie: session };

  it('accepts /ipc with the session cookie from our own origin and host', () => {
    expect(checkUpgrade({ url: '/ipc', headers: goodHeaders }, policy)).toEqual({ ok: true });
  });

  it('answers 401 without the session cookie (a launch token in the URL is no session)', () => {
    const { cookie: _, ...noCookie } = goodHeaders;
    expect(checkUpgrade({ url: '/ipc', headers: noCookie }, policy)).toMatchObject({ ok: false, status: 401 });
    expect(checkUpgrade({ url: `/ipc?token=${token}`, headers: noCookie }, policy)).toMatchObject({
      ok: false,
      status: 401,
    });
    expect(
      checkUpgrade({ url: '/ipc', headers: { ...goodHeaders, cookie: 'lr_shell_4000=bad' } }, policy),
    ).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 403 for another or a missing origin, and for another host', () => {
    for (const origin of [
      'http://localhost:4000',
      'http://127.0.0.1:4001',
      'https://127.0.0.1:4000',
      'null',
      'http://evil.example',
    ]) {
      expect(checkUpgrade({ url: '/ipc', headers: { ...goodHeaders, origin } }, policy)).toMatchObject({
        ok: false,
        status: 403,
      });
    }
    expect(checkUpgrade({ url: '/ipc', headers: { host: goodHeaders.host, cookie: session } }, policy)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(checkUpgrade({ url: '/ipc', headers: { ...goodHeaders, host: 'evil.example:4000' } }, policy)).toMatchObject(
      { ok: false, status: 403 },
    );
  });

  it('answers 404 for other paths', () => {
    expect(checkUpgrade({ url: '/other', headers: goodHeaders }, policy)).toMatchObject({ ok: false, status: 404 });
  });
});
