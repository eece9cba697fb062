/**
 * xterm's renderer in the console: WebGL when the page has a hardware WebGL2 context, the DOM
 * renderer otherwise, and the DOM renderer again when WebGL's context is lost, with the output still drawn.
 * Debian's headless Chromium has only software GL (SwiftShader): there the default is the DOM renderer
 * (bench/console.ts measured WebGL slower and far less responsive there). Tests force WebGL through the test
 * hook `window.__lrTerminalRenderer`.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
  HOST,
  openConsoleFor,
  run,
  startWorkstation,
  waitForPrompt,
  type Workstation,
} from './workstation-helpers.js';

let ws: Workstation;
let browser: Browser;
/** One context: the launch link works once, its session cookie opens the later pages. */
let context: BrowserContext;
let launched = false;
let sessionId = '';

/** No WebGL2 at all (as on a machine without GL): getContext('webgl2') answers null. */
const NO_WEBGL2 = `{
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (kind, ...rest) { return kind === 'webgl2' ? null : getContext.call(this, kind, ...rest); };
}`;

beforeAll(async () => {
  ensureWorkstationBuilt();
  ws = await startWorkstation();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
});

afterAll(async () => {
  await browser?.close();
  await ws?.cleanup();
});

async function openPage(init: string): Promise<Page> {
  const page = await context.newPage();
  await page.addInitScript({ content: `window.__lrTestHooks = true; ${init}` });
  await page.goto(launched ? `${new URL(ws.url).origin}/` : ws.url);
  launched = true;
  await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 30_000 });
  return page;
}

/** A console on this machine, in the page's renderer. */
async function showConsole(page: Page): Promise<void> {
  sessionId = await openConsoleFor(page, HOST);
  await focusConsole(page, HOST);
  await waitForPrompt(page, sessionId);
}

/** Ends the console's session (one per device) and closes the page. */
async function closeConsole(page: Page): Promise<void> {
  await page.getByTestId('nav-consoles').click();
  await page.getByTestId(`console-tab-${HOST}`).click();
  await page.getByTestId('console-disconnect').click();
  await page.getByTestId('disconnect-dialog-confirm').click();
  await page
    .getByTestId(`console-tab-${HOST}`)
    .waitFor({ state: 'detached', timeout: 15_000 })
    .catch(() => undefined);
  await page.close();
}

const renderer = (page: Page): Promise<string | null> =>
  page.locator(`[data-testid="terminal-${sessionId}"] .terminal-host`).getAttribute('data-renderer');

/** The text the DOM renderer drew (its rows are elements; WebGL draws into a canvas and has none). */
const drawnRows = (page: Page): Promise<string> =>
  page
    .locator(`[data-testid="terminal-${sessionId}"] .xterm-rows`)
    .innerText()
    .catch(() => '');

describe('console renderer', () => {
  it('forced WebGL draws into a canvas; when its context is lost the DOM renderer takes over and draws the output', async () => {
    const page = await openPage("window.__lrTerminalRenderer = 'webgl';");
    await showConsole(page);
    expect(await renderer(page)).toBe('webgl');
    expect(await page.locator(`[data-testid="terminal-${sessionId}"] .xterm-screen canvas`).count()).toBeGreaterThan(0);
    // xterm's own WebGL2 context (getContext hands back the one it made), lost as when the GPU resets.
    const lost = await page.evaluate(`(() => {
      for (const canvas of document.querySelectorAll('[data-testid="terminal-${sessionId}"] .xterm-screen canvas')) {
        const lose = canvas.getContext('webgl2')?.getExtension('WEBGL_lose_context');
        if (!lose) continue;
        lose.loseContext();
        return true;
      }
      return false;
    })()`);
    expect(lost).toBe(true);
    await expect.poll(() => renderer(page), { timeout: 20_000, interval: 200 }).toBe('dom');
    await run(page, sessionId, 'cd /tmp');
    await expect.poll(() => drawnRows(page), { timeout: 10_000 }).toMatch(/:\/tmp> /);
    await closeConsole(page);
  });

  it('without WebGL2 the forced WebGL renderer falls back to the DOM renderer, which draws the output', async () => {
    const page = await openPage(`window.__lrTerminalRenderer = 'webgl'; ${NO_WEBGL2}`);
    await showConsole(page);
    expect(await renderer(page)).toBe('dom');
    await run(page, sessionId, 'cd /');
    await expect.poll(() => drawnRows(page), { timeout: 10_000 }).toMatch(/:\/> /);
    await closeConsole(page);
  });

  it("by default uses the DOM renderer on this Chromium's software GL (SwiftShader)", async () => {
    const page = await openPage('');
    const gl = String(
      await page.evaluate(`(() => {
        const context = document.createElement('canvas').getContext('webgl2');
        const info = context?.getExtension('WEBGL_debug_renderer_info');
        return info ? String(context.getParameter(info.UNMASKED_RENDERER_WEBGL)) : 'none';
      })()`),
    );
    await showConsole(page);
    expect(gl === 'none' || /swiftshader|llvmpipe/i.test(gl)).toBe(true);
    expect(await renderer(page)).toBe('dom');
    await closeConsole(page);
  });
});
