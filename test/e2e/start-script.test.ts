/**
 * `npm start` on a machine without the Electron binary (this one): one line saying so, then the browser
 * shell's URL line; the URL shows the app shell in Chromium. Skipped where Electron is installed (the name
 * says so).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, launchChromium, ROOT, screenshot, SHELL_URL_LINE, startProcess, type RunningProcess } from './helpers.js';

const NO_ELECTRON_LINE =
  'Electron is not available on this machine (its binary is not installed); serving the workstation to your browser instead.';

function electronInstalled(): boolean {
  const pathFile = path.join(ROOT, 'node_modules/electron/path.txt');
  return existsSync(pathFile) && existsSync(path.join(ROOT, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim()));
}

const ELECTRON = electronInstalled();

describe.skipIf(ELECTRON)(`npm start without Electron${ELECTRON ? ' (skipped: Electron is installed here, so npm start opens it)' : ''}`, () => {
  let start: RunningProcess;
  let browser: Browser;
  // The standalone mode's app data folder (embedded service and agent): a temporary one, not ~/.local/share.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lr-start-e2e-'));

  beforeAll(async () => {
    ensureBuilt();
    const env: NodeJS.ProcessEnv = { ...process.env, LR_DATA_DIR: dataDir, LR_LOG_LEVEL: 'warn' };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    start = startProcess([path.join(ROOT, 'scripts/start.mjs')], env);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await start?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says Electron is missing, prints the URL, serves the shell, and stops with its children', async (context) => {
    const match = await start.waitForLine(SHELL_URL_LINE);
    const url = match[1] ?? '';
    expect(start.stdout).toEqual([NO_ELECTRON_LINE, match[0]]);

    const page = await browser.newPage();
    context.onTestFailed(async () => {
      await screenshot(page, 'failed-npm-start');
    });
    await page.goto(url);
    await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('status-mode').textContent()).toBe('browser-shell');
    await page.close();

    await start.stop();
    // The browser shell went down with it: nothing answers on its port any more.
    await expect(fetch(new URL('/', url))).rejects.toThrow();
  });
});
