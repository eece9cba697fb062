/**
 * Who is the browser shell's user. Each run makes one random *launch token*; it works once: the first
 * valid use (the launch page or the printed URL, see server.ts) gets a fresh random session secret in an
 * HttpOnly, SameSite=Strict cookie, and the launch token is dead from then on. Only the cookie opens /ipc,
 * so a token seen later (terminal scroll-back, a process list on an older version, a shoulder) is useless,
 * and the session secret itself never appears in a URL, a file or a page script.
 *
 * The cookie name carries the shell's port: cookies ignore ports, so two shells on 127.0.0.1 must not
 * overwrite each other's cookie in the same browser.
 */
import { createToken, tokensMatch } from './token.js';

export type LaunchExchange =
  { readonly ok: true; readonly setCookie: string } | { readonly ok: false; readonly reason: string };

export interface ShellSessions {
  readonly launchToken: string;
  readonly cookieName: string;
  /** Trades the launch token for a session cookie, once. */
  exchange(given: string | null | undefined): LaunchExchange;
  /** True when a `Cookie` request header carries a live session of this shell. */
  hasSession(cookieHeader: string | undefined): boolean;
}

export function createShellSessions(port: number): ShellSessions {
  const launchToken = createToken();
  const cookieName = `lr_shell_${port}`;
  let used = false;
  const sessions: string[] = [];

  return {
    launchToken,
    cookieName,
    exchange(given) {
      if (!tokensMatch(given, launchToken)) return { ok: false, reason: 'wrong or missing launch token' };
      if (used)
        return {
          ok: false,
          reason: 'this launch link was already used (it works once): start the workstation again for a new one',
        };
      used = true;
      const secret = createToken();
      sessions.push(secret);
      return { ok: true, setCookie: `${cookieName}=${secret}; HttpOnly; SameSite=Strict; Path=/` };
    },
    hasSession(cookieHeader) {
      const given = cookieValues(cookieHeader, cookieName);
      return given.some((value) => sessions.some((secret) => tokensMatch(value, secret)));
    },
  };
}

/** Every value of `name` in a `Cookie` header (`a=1; b=2`); a browser may send a name more than once. */
export function cookieValues(cookieHeader: string | undefined, name: string): string[] {
  if (!cookieHeader) return [];
  const values: string[] = [];
  for (const pair of cookieHeader.split(';')) {
    const separator = pair.indexOf('=');
    if (separator < 0) continue;
    if (pair.slice(0, separator).trim() === name) values.push(pair.slice(separator + 1).trim());
  }
  return values;
}
