/**
 * The browser shell end to end: `node out/main/browser-shell.js` as a real process, driven by Debian's
 * Chromium (the app shell and the typed API round trip) and by raw WebSocket/HTTP clients (the one-time
 * launch token, the session cookie, Origin, Host, malformed frames, path traversal).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import {
  ensureBuilt,
  launchChromium,
  rawGet,
  rawRequest,
  screenshot,
  sessionCookieOf,
  SocketClient,
  startShell,
  tryOpenSocket,
  type ShellProcess,
} from './helpers.js';

let shell: ShellProcess;
let browser: Browser;
/** The page that used the launch link: its browser context holds the session cookie. */
let appPage: Page;
let sessionCookie: string;

beforeAll(async () => {
  ensureBuilt();
  shell = await startShell();
  browser = await launchChromium();
});

afterAll(async () => {
  await appPage?.close();
  await browser?.close();
  await shell?.stop();
});

/** A fresh page whose screenshot lands in test-results/ if the test fails. */
async function newPage(context: TestContext): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  context.onTestFailed(async () => {
    await screenshot(page, `failed-${context.task.name}`);
  });
  return page;
}

describe('the app shell in Chromium', () => {
  it('loads, shows mode browser-shell, and answers through the typed API', async (context) => {
    const page = await newPage(context);
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });

    await page.addInitScript({
      content: `window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`,
    });

    const response = await page.goto(shell.url);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");

    await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByTestId('app-shell').isVisible()).toBe(true);
    for (const section of ['devices', 'log', 'library', 'cases']) {
      expect(await page.getByTestId(`nav-${section}`).isVisible(), section).toBe(true);
    }
    expect(await page.getByTestId('status-mode').textContent()).toBe('browser-shell');
    expect(await page.getByTestId('status-version').textContent()).toMatch(/^\d+\.\d+\.\d+/);
    // The launch link redirected to the app: no token in the address bar or the history.
    expect(page.url()).toBe(`${shell.origin}/`);
    // The push side works too: the shell greets each socket (kept as an attribute: not shown to the analyst).
    await expect.poll(() => page.getByTestId('status-line').getAttribute('data-last-event')).toBe('hello');
    expect(await page.getByTestId('status-line').textContent()).not.toContain('event:');

    // A typed round trip that the page shows: the connection card on the Settings page.
    await page.getByTestId('nav-settings').click();
    await expect
      .poll(() => page.getByTestId('workspace-mode').textContent(), { timeout: 15_000 })
      .toContain('standalone');

    await page.getByTestId('nav-log').click();
    expect(await page.getByTestId('section-title').textContent()).toBe('Log');

    await screenshot(page, 'browser-shell-app');
    expect(problems).toEqual([]);
    // The page runs under the strict CSP without tripping it (no inline script, no eval).
    expect(await page.evaluate('window.__cspViolations')).toEqual([]);
    // Kept open: its browser context holds the session cookie the tests below use.
    appPage = page;
    sessionCookie = await sessionCookieOf(page);
  });

  it('keeps working after a reload (the session cookie stays in this browser)', async () => {
    await appPage.reload();
    await appPage.locator('body[data-app-state="loaded"]').waitFor();
    expect(await appPage.getByTestId('status-mode').textContent()).toBe('browser-shell');
    expect(appPage.url()).toBe(`${shell.origin}/`);
  });

  it('shows a clear failure when opened without the launch link', async (context) => {
    const page = await newPage(context);
    await page.goto(`${shell.origin}/`);
    await page.locator('body[data-app-state="failed"]').waitFor();
    expect(await page.getByTestId('status-connection').textContent()).toContain('not signed in');
    await page.close();
  });

  it('refuses a wrong launch token with a one-line page', async (context) => {
    const page = await newPage(context);
    const response = await page.goto(`${shell.origin}/launch?token=${'A'.repeat(43)}`);
    expect(response?.status()).toBe(403);
    expect((await page.locator('body').innerText()).trim()).toBe('403 wrong or missing launch token');
    await page.close();
  });

  it('refuses the launch link a second time, in another browser: it works once', async (context) => {
    const page = await newPage(context);
    const response = await page.goto(shell.url);
    expect(response?.status()).toBe(403);
    expect(await page.locator('body').innerText()).toMatch(/^403 this launch link was already used \(it works once\)/);
    expect(await page.context().cookies()).toEqual([]);
    await page.close();
  });
});

describe('the launch token is dead once used (a non-browser client sends any Origin it likes)', () => {
  it('GET and POST of the used token: 403 and no cookie, whatever the Origin', async () => {
    for (const origin of [shell.origin, 'null', 'http://evil.example']) {
      const get = await rawGet(shell.port, `/launch?token=${shell.launchToken}`, { origin });
      expect(get.status, origin).toBe(403);
      expect(get.body).toContain('already used');
      expect(get.headers['set-cookie']).toBeUndefined();
      const post = await rawRequest(
        shell.port,
        'POST',
        '/launch',
        { origin, 'content-type': 'application/x-www-form-urlencoded' },
        `token=${shell.launchToken}`,
      );
      expect(post.status, origin).toBe(403);
      expect(post.headers['set-cookie']).toBeUndefined();
    }
  });

  it('an oversized launch form: 413', async () => {
    const post = await rawRequest(
      shell.port,
      'POST',
      '/launch',
      { 'content-type': 'application/x-www-form-urlencoded' },
      `token=${'A'.repeat(4096)}`,
    );
    expect(post.status).toBe(413);
  });
});

describe('the API socket refuses strangers', () => {
  const ipc = (): string => `ws://127.0.0.1:${shell.port}/ipc`;

  it('without the session cookie: 401, even with the launch token in the URL as the old versions did', async () => {
    expect(await tryOpenSocket(ipc(), shell.origin)).toEqual({ opened: false, status: 401 });
    expect(await tryOpenSocket(`${ipc()}?token=${shell.launchToken}`, shell.origin)).toEqual({
      opened: false,
      status: 401,
    });
    const name = sessionCookie.split('=', 1)[0] ?? '';
    expect(await tryOpenSocket(ipc(), shell.origin, { cookie: `${name}=${shell.launchToken}` })).toEqual({
      opened: false,
      status: 401,
    });
  });

  it('with the session cookie from another origin (or none): 403', async () => {
    for (const origin of ['http://evil.example', `http://localhost:${shell.port}`, 'null']) {
      expect(await tryOpenSocket(ipc(), origin, { cookie: sessionCookie }), origin).toEqual({
        opened: false,
        status: 403,
      });
    }
    expect(await tryOpenSocket(ipc(), undefined, { cookie: sessionCookie })).toEqual({ opened: false, status: 403 });
  });

  it('with the session cookie from its own origin but another Host (DNS rebinding): 403', async () => {
    for (const host of ['evil.example', `evil.example:${shell.port}`, `localhost:${shell.port}`]) {
      expect(await tryOpenSocket(ipc(), shell.origin, { cookie: sessionCookie, host }), host).toEqual({
        opened: false,
        status: 403,
      });
    }
  });

  it('with the session cookie from its own origin and host: open', async () => {
    const outcome = await tryOpenSocket(ipc(), shell.origin, { cookie: sessionCookie });
    expect(outcome.opened).toBe(true);
    if (outcome.opened) outcome.socket.close();
  });
});

describe('malformed calls get a one-line error and never reach the handler', () => {
  it('answers each with an error; the echo handler count moves only for the valid calls', async () => {
    const outcome = await tryOpenSocket(`ws://127.0.0.1:${shell.port}/ipc`, shell.origin, { cookie: sessionCookie });
    if (!outcome.opened) throw new Error(`socket refused: ${outcome.status}`);
    const client = new SocketClient(outcome.socket);

    const before = await client.call(1, 'lr:app.echo', { text: 'before' });
    expect(before).toMatchObject({ id: 1, ok: true, result: { text: 'before' } });
    const handledBefore = (before.result as { handled: number }).handled;

    const refusals = [
      [
        await client.call(2, 'lr:app.echo', { text: 42 }),
        'invalid-payload',
        'lr:app.echo: invalid payload: text: expected string, received number',
      ],
      [
        await client.call(3, 'lr:app.echo', { text: 'x', extra: true }),
        'invalid-payload',
        'lr:app.echo: invalid payload: (payload): unrecognized key: "extra"',
      ],
      [
        await client.call(4, 'lr:app.echo', 'x'.repeat(20)),
        'invalid-payload',
        'lr:app.echo: invalid payload: (payload): expected object, received string',
      ],
      [await client.call(5, 'lr:app.nope', { text: 'x' }), 'unknown-channel', 'lr:app.nope: unknown channel'],
      [await client.send('this is not json {', null), 'bad-frame', 'frame is not valid JSON'],
      [
        await client.send(JSON.stringify({ id: 6, payload: {} }), 6),
        'bad-frame',
        'bad frame: channel: expected string, received undefined',
      ],
      [await client.send(Buffer.from([1, 2, 3]), null), 'bad-frame', 'binary frames are not accepted'],
      [
        await client.send(
          JSON.stringify({ id: 7, channel: 'lr:app.echo', payload: { text: 'y'.repeat(1024 * 1024) } }),
          null,
        ),
        'bad-frame',
        /^frame too large \(\d+ bytes, limit 1048576\)$/,
      ],
    ] as const;
    for (const [frame, code, message] of refusals) {
      expect(frame.ok).toBe(false);
      expect(frame.error?.code).toBe(code);
      if (typeof message === 'string') expect(frame.error?.message).toBe(message);
      else expect(frame.error?.message).toMatch(message);
      expect(frame.error?.message).not.toContain('\n');
    }

    const after = await client.call(8, 'lr:app.echo', { text: 'after' });
    expect(after).toMatchObject({ id: 8, ok: true, result: { text: 'after', handled: handledBefore + 1 } });
    client.socket.close();
  });
});

describe('static files', () => {
  it.each([
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E/package.json',
    '/assets/../../package.json',
    '/..%2fpackage.json',
    '/..%5cpackage.json',
  ])('refuses %s', async (requestPath) => {
    const response = await rawGet(shell.port, requestPath);
    expect([400, 403]).toContain(response.status);
    expect(response.body).not.toContain('"name"');
  });

  it('serves index.html for / with the CSP header, and 404 for what is not there', async () => {
    const index = await rawGet(shell.port, '/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<div id="root">');
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await rawGet(shell.port, '/package.json')).status).toBe(404);
  });

  it.each(['/', '/index.html', '/launch?token=x'])(
    'refuses %s for another Host (DNS rebinding): 403',
    async (requestPath) => {
      for (const host of ['evil.example', `evil.example:${shell.port}`, `localhost:${shell.port}`]) {
        const response = await rawGet(shell.port, requestPath, { host, cookie: sessionCookie });
        expect(response.status, host).toBe(403);
        expect(response.body).toBe('403 host not allowed\n');
      }
    },
  );
});
