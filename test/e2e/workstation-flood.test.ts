/**
 * A command printing ~20 MB (findfile over a generated tree of 150 000 files with
 * long names: one table row each) prints completely, and while it prints a click on another console tab is
 * handled within 200 ms (from the click's input timestamp to the frame after the tab switched, measured in
 * the page).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickTabLatency, launchChromium, screenshot, type RunningProcess } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
  HOST,
  openConsoleFor,
  openWorkstation,
  startExtraAgent,
  startWorkstation,
  terminalStats,
  terminalText,
  waitForPrompt,
  type Workstation,
} from './workstation-helpers.js';

const DIRS = Number(process.env.LR_FLOOD_DIRS ?? 300);
const PER_DIR = 500;
const FILES = DIRS * PER_DIR;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const PEER = 'flood-peer';
let ws: Workstation;
let browser: Browser;
let page: Page;
let agent: RunningProcess | undefined;
let tree: string;

beforeAll(async () => {
  ensureWorkstationBuilt();
  tree = mkdtempSync(path.join(tmpdir(), 'lr-flood-'));
  const pad = 'x'.repeat(64);
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(tree, `folder-${String(d).padStart(3, '0')}`);
    mkdirSync(dir);
    for (let f = 0; f < PER_DIR; f++)
      writeFileSync(path.join(dir, `evidence-${pad}-${String(f).padStart(3, '0')}.log`), '');
  }
  ws = await startWorkstation();
  agent = await startExtraAgent(ws, PEER);
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
  await page.locator(`[data-testid="device-row-${PEER}"][data-online="true"]`).waitFor({ timeout: 20_000 });
}, 300_000);

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await agent?.stop();
  await ws?.cleanup();
  rmSync(tree, { recursive: true, force: true });
});

describe('a console printing 20 MB', () => {
  it('(3) prints everything; clicks on another tab are handled within 200 ms meanwhile', async () => {
    await openConsoleFor(page, PEER);
    const id = await openConsoleFor(page, HOST);
    await focusConsole(page, HOST);
    const started = Date.now();
    await page.keyboard.type(`findfile "*.log" -path ${tree}`);
    await page.keyboard.press('Enter');
    await expect
      .poll(async () => (await terminalStats(page, id))?.records ?? 0, { timeout: 60_000, interval: 50 })
      .toBeGreaterThan(FILES / 15);

    const latencies: number[] = [];
    for (let i = 0; i < 6; i++) {
      const stats = await terminalStats(page, id);
      if (!stats?.running) break;
      latencies.push(await clickTabLatency(page, i % 2 === 0 ? `console-tab-${PEER}` : `console-tab-${HOST}`));
      await page.waitForTimeout(150);
    }
    await screenshot(page, 'workstation-3-flood-while-printing');
    // eslint-disable-next-line no-console
    log(`click latencies while printing (ms): ${latencies.map((v) => v.toFixed(1)).join(', ')}`);
    expect(latencies.length).toBeGreaterThanOrEqual(3);
    for (const latency of latencies) expect(latency).toBeLessThan(200);

    await page.getByTestId(`console-tab-${HOST}`).click();
    const progress = setInterval(() => {
      void terminalStats(page, id).then((s) =>
        log(`progress: ${s?.records} records after ${((Date.now() - started) / 1000).toFixed(0)} s`),
      );
    }, 10_000);
    try {
      await waitForPrompt(page, id, 500_000);
    } finally {
      clearInterval(progress);
    }
    const seconds = (Date.now() - started) / 1000;
    const stats = await terminalStats(page, id);
    const text = await terminalText(page, id);
    // eslint-disable-next-line no-console
    const megabytes = (stats?.chars ?? 0) / 1e6;
    log(
      `printed ${stats?.records} records, ${stats?.lines} lines, ${megabytes.toFixed(1)} MB in ${seconds.toFixed(1)} s (terminal ${stats?.cols} columns)`,
    );
    expect(stats?.records).toBe(FILES);
    if (FILES === 150_000) expect(megabytes).toBeGreaterThan(20);
    expect(stats?.lines).toBeGreaterThanOrEqual(FILES + 2);
    // The end of the output is there, then the footer (more than the console keeps: the full output is
    // evidence, named with its case and a link to it), then the prompt; no error line.
    const tail = text.split('\n').slice(-9);
    // rows, or the continuation of a path wrapped in its column (never cut with …)
    expect(tail.slice(0, 5).every((line) => /evidence-x+|x{8}|^ +[-x]*\d{3}\.log$/.test(line))).toBe(true);
    expect(tail[5]).toMatch(
      new RegExp(`^${FILES.toLocaleString('en')} rows of output: the console keeps the last 10,000 lines`),
    );
    expect(tail[6]).toMatch(
      /^the full output was saved as evidence findfile-\S+-full-output\.txt in the active case "[^"]+"/,
    );
    expect(tail[7]).toMatch(/^ {2}open it in Cases: evidence\/\w+\/\w+$/);
    expect(text).not.toMatch(/failed|timed out|cancelled/);
    await screenshot(page, 'workstation-3-flood-done');
  }, 600_000);
});
