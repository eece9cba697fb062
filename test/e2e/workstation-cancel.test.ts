/**
 * Cancel buttons against the browser shell as a real process, in Debian's Chromium: a case import of a
 * large zip is cancelled from its progress line while its chunks are on their way to main; the page says so
 * in one line, main's staging folder holds nothing, and no case was added. Screenshots in test-results/.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gotoCases, openPage } from './cases-helpers.js';
import { launchChromium, screenshot } from './helpers.js';
import { ensureWorkstationBuilt, startWorkstation, type Workstation } from './workstation-helpers.js';

let browser: Browser;
let ws: Workstation;
let page: Page;
let fixture: string;

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-cancel-e2e-'));
  browser = await launchChromium();
  ws = await startWorkstation();
  page = await openPage(browser, ws, { deviceOnline: false });
});

afterAll(async () => {
  await page?.close().catch(() => undefined);
  await browser?.close();
  await ws?.cleanup();
  if (fixture) rmSync(fixture, { recursive: true, force: true });
});

function staged(): string[] {
  try {
    return readdirSync(path.join(ws.dataDir, 'cases', 'uploads'));
  } catch {
    return [];
  }
}

describe('workstation: Cancel next to a long operation’s progress', () => {
  it('a case import cancelled while uploading: one line says so, nothing staged is left, no case added', async () => {
    await gotoCases(page);
    const casesBefore = await page.locator('[data-testid^="case-row-"]').count();
    // 96 MiB: about 190 chunks, seconds of upload on this machine; cancelled after the first ones.
    const zip = path.join(fixture, 'case-large.zip');
    writeFileSync(zip, randomBytes(96 * 1024 * 1024));
    await page.getByTestId('cases-import-input').setInputFiles(zip);
    const cancel = page.getByTestId('cancel-upload');
    await cancel.waitFor({ timeout: 30_000 });
    await expect.poll(() => staged().length, { timeout: 30_000, interval: 20 }).toBe(1);
    await cancel.click();
    const result = page.getByTestId('import-result');
    await expect.poll(() => result.getAttribute('data-state'), { timeout: 30_000 }).toBe('failed');
    await screenshot(page, 'cancel-import');
    expect(await result.textContent()).toContain(
      'case-large.zip: import failed: the upload of case-large.zip was cancelled; nothing was stored',
    );
    await expect.poll(() => staged(), { timeout: 10_000 }).toEqual([]);
    expect(await page.locator('[data-testid^="case-row-"]').count()).toBe(casesBefore);
  });
});
