/**
 * The browser shell end to end: `node out/main/browser-shell.js` as a real process, driven by Debian's
 * Chromium (the app shell and the typed API round trip) and by raw WebSocket/HTTP clients (token, Origin,
 * malformed frames, path traversal).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import {
  ensureBuilt,
  launchChromium,
  rawGet,
  screenshot,
  SocketClient,
  startShell,
  tryOpenSocket,
  type ShellProcess,
} from './helpers.js';

let shell: ShellProcess;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  shell = await startShell();
  browser = await launchChromium();
});

afterAll(async () => {
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
  it('loads, shows mode browser-shell, and echoes through the typed API', async (context) => {
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
    // The token left the address bar as soon as the renderer started.
    expect(page.url()).toBe(`${shell.origin}/`);
    // The push side works too: the shell greets each socket.
    await expect.poll(() => page.getByTestId('status-last-event').textContent()).toBe('event: hello');

    // The API round trip panel lives on the Settings page.
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('echo-input').fill('typed round trip ✓ <b>not html</b>');
    await page.getByTestId('echo-send').click();
    await page.getByTestId('echo-result').waitFor();
    expect(await page.getByTestId('echo-result').textContent()).toBe('typed round trip ✓ <b>not html</b>');

    await page.getByTestId('nav-log').click();
    expect(await page.getByTestId('section-title').textContent()).toBe('Log');

    await screenshot(page, 'browser-shell-app');
    expect(problems).toEqual([]);
    // The page runs under the strict CSP without tripping it (no inline script, no eval).
    expect(await page.evaluate('window.__cspViolations')).toEqual([]);
    await page.close();
  });

  it('keeps working after a reload (the token is kept for this tab only)', async (context) => {
    const page = await newPage(context);
    await page.goto(shell.url);
    await page.locator('body[data-app-state="loaded"]').waitFor();
    await page.reload();
    await page.locator('body[data-app-state="loaded"]').waitFor();
    expect(await page.getByTestId('status-mode').textContent()).toBe('browser-shell');
    await page.close();
  });

  it('shows a clear failure when opened without the token', async (context) => {
    const page = await newPage(context);
    await page.goto(`${shell.origin}/`);
    await page.locator('body[data-app-state="failed"]').waitFor();
    expect(await page.getByTestId('status-connection').textContent()).toContain('no access token');
    await page.close();
  });

  it('shows a clear failure when opened with a wrong token', async (context) => {
    const page = await newPage(context);
    await page.goto(`${shell.origin}/?token=${'A'.repeat(43)}`);
    await page.locator('body[data-app-state="failed"]').waitFor();
    expect(await page.getByTestId('status-connection').textContent()).toContain('token refused');
    await page.close();
  });
});

describe('the API socket refuses strangers', () => {
  const socketUrl = (token?: string): string => `ws://127.0.0.1:${shell.port}/ipc${token === undefined ? '' : `?token=${token}`}`;

  it('without a token: 401', async () => {
    expect(await tryOpenSocket(socketUrl(), shell.origin)).toEqual({ opened: false, status: 401 });
  });

  it('with a wrong token: 401', async () => {
    const wrong = `${shell.token.slice(0, -1)}${shell.token.endsWith('A') ? 'B' : 'A'}`;
    expect(await tryOpenSocket(socketUrl(wrong), shell.origin)).toEqual({ opened: false, status: 401 });
    expect(await tryOpenSocket(socketUrl(''), shell.origin)).toEqual({ opened: false, status: 401 });
  });

  it('with the right token from another origin (or none): 403', async () => {
    for (const origin of ['http://evil.example', `http://localhost:${shell.port}`, 'null']) {
      expect(await tryOpenSocket(socketUrl(shell.token), origin), origin).toEqual({ opened: false, status: 403 });
    }
    expect(await tryOpenSocket(socketUrl(shell.token))).toEqual({ opened: false, status: 403 });
  });

  it('with the right token from its own origin: open', async () => {
    const outcome = await tryOpenSocket(socketUrl(shell.token), shell.origin);
    expect(outcome.opened).toBe(true);
    if (outcome.opened) outcome.socket.close();
  });
});

describe('malformed calls get a one-line error and never reach the handler', () => {
  it('answers each with an error; the echo handler count moves only for the valid calls', async () => {
    const outcome = await tryOpenSocket(`ws://127.0.0.1:${shell.port}/ipc?token=${shell.token}`, shell.origin);
    if (!outcome.opened) throw new Error(`socket refused: ${outcome.status}`);
    const client = new SocketClient(outcome.socket);

    const before = await client.call(1, 'lr:app.echo', { text: 'before' });
    expect(before).toMatchObject({ id: 1, ok: true, result: { text: 'before' } });
    const handledBefore = (before.result as { handled: number }).handled;

    const refusals = [
      [await client.call(2, 'lr:app.echo', { text: 42 }), 'invalid-payload', 'lr:app.echo: invalid payload: text: expected string, received number'],
      [await client.call(3, 'lr:app.echo', { text: 'x', extra: true }), 'invalid-payload', 'lr:app.echo: invalid payload: (payload): unrecognized key: "extra"'],
      [await client.call(4, 'lr:app.echo', 'x'.repeat(20)), 'invalid-payload', 'lr:app.echo: invalid payload: (payload): expected object, received string'],
      [await client.call(5, 'lr:app.nope', { text: 'x' }), 'unknown-channel', 'lr:app.nope: unknown channel'],
      [await client.send('this is not json {', null), 'bad-frame', 'frame is not valid JSON'],
      [await client.send(JSON.stringify({ id: 6, payload: {} }), 6), 'bad-frame', 'bad frame: channel: expected string, received undefined'],
      [await client.send(Buffer.from([1, 2, 3]), null), 'bad-frame', 'binary frames are not accepted'],
      [
        await client.send(JSON.stringify({ id: 7, channel: 'lr:app.echo', payload: { text: 'y'.repeat(1024 * 1024) } }), null),
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
  it.each(['/../package.json', '/%2e%2e/package.json', '/%2E%2E/package.json', '/assets/../../package.json', '/..%2fpackage.json', '/..%5cpackage.json'])(
    'refuses %s',
    async (requestPath) => {
      const response = await rawGet(shell.port, requestPath);
      expect([400, 403]).toContain(response.status);
      expect(response.body).not.toContain('"name"');
    },
  );

  it('serves index.html for / with the CSP header, and 404 for what is not there', async () => {
    const index = await rawGet(shell.port, '/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<div id="root">');
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await rawGet(shell.port, '/package.json')).status).toBe(404);
  });
});
