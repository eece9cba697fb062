/**
 * Output silently cut and streamed tables, no match, human units, against the
 * browser shell as a real process in standalone mode (embedded service + this machine's agent), at 1024 px
 * as the analyst used it:
 *   - a long path found with findfile is shown whole (wrapped in its column, never cut with …);
 *   - resizing the window redraws that table in place at the new width;
 *   - a findfile of more rows than the console keeps ends with a footer, and its full output is evidence in
 *     the active case with every row;
 *   - a findfile with no match says so; processes shows memory in human units.
 * Screenshots at 1024 and 1400 px land in test-results/.
 */
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
  HOST,
  openConsoleFor,
  openWorkstation,
  run,
  startWorkstation,
  terminalStats,
  terminalText,
  type Workstation,
} from './workstation-helpers.js';

let ws: Workstation;
let browser: Browser;
let page: Page;
let fixture: string;
let sessionId = '';

/** Past the console's 10 000 lines of scrollback (and its 9 000-line margin). */
const MANY_ROWS = 10_500;

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-e2e-output-'));
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws, { width: 1024, height: 760 });
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await ws?.cleanup();
  rmSync(fixture, { recursive: true, force: true });
});

/** One console on this machine for the whole file, opened by the first test that runs. */
async function ensureConsole(): Promise<void> {
  if (sessionId) return;
  sessionId = await openConsoleFor(page, HOST);
  await focusConsole(page, HOST);
}

/** The rows of the terminal from the line holding `start`, joined down its column (a wrapped cell). */
function cellFrom(text: string, start: string): { cell: string; lines: number } {
  const lines = text.split('\n');
  const first = lines.findIndex((line) => line.includes(start));
  if (first < 0) return { cell: '', lines: 0 };
  const column = (lines[first] ?? '').indexOf(start);
  let cell = (lines[first] ?? '').slice(column).trimEnd();
  let count = 1;
  for (const line of lines.slice(first + 1)) {
    // a continuation line is blank left of the column
    if (line.slice(0, column).trim() !== '' || line.slice(column).trim() === '') break;
    cell += line.slice(column).trimEnd();
    count += 1;
  }
  return { cell, lines: count };
}

describe('item 16: tables', () => {
  it('item 16: a findfile with no match says so; processes shows memory in human units', async () => {
    await ensureConsole();
    const none = await run(page, sessionId, `findfile "*.xyz" -path ${fixture}`);
    expect(none).toContain(`no match for *.xyz under ${fixture}`);
    const processes = await run(page, sessionId, 'processes -name node');
    expect(processes).toMatch(/^\s*pid\s+ppid\s+user\s+state\s+memory\s+name\s+cmdline\s*$/m);
    expect(processes).toMatch(/\d+\.\d (KiB|MiB|GiB)\s+node/);
    expect(processes).not.toContain('rssBytes');
    await screenshot(page, 'item16-processes-human-1024');
  }, 60_000);
});

describe('item 5: output silently cut', () => {
  it('item 5: a long path is shown whole at 1024 px, the table is redrawn on resize, a flood ends with a footer and its full output is evidence', async () => {
    await ensureConsole();
    const { cols } = (await terminalStats(page, sessionId)) ?? { cols: 0 };
    expect(cols).toBeGreaterThan(60);
    // A path longer than the path column at 1024 px, shorter than the whole line at 1400 px.
    const head = path.join(fixture, 'persistence');
    const deep = path.join(head, 'multi-user.target.wants');
    mkdirSync(deep, { recursive: true });
    // The path column has about cols - 38 cells (size 10, a UTC time 23, two gaps): 8 more than that wraps.
    const target = cols - 38 + 8;
    const name = `zz-implant-${'x'.repeat(Math.max(4, target - deep.length - 1 - 'zz-implant-.conf'.length))}.conf`;
    const longPath = path.join(deep, name);
    writeFileSync(longPath, 'ExecStart=/tmp/.x/beacon\n');
    expect(longPath.length).toBeGreaterThan(cols - 38);

    const out = await run(page, sessionId, `findfile "zz-implant-*" -path ${fixture}`);
    expect(out).not.toContain('…');
    const shown = cellFrom(out, head);
    expect(shown.cell).toBe(longPath);
    expect(shown.lines).toBeGreaterThan(1);
    await screenshot(page, 'item5-long-path-wrapped-1024');

    // Wider: the same table, redrawn in place (once), the path now on one line.
    await page.setViewportSize({ width: 1400, height: 760 });
    await expect
      .poll(async () => (await terminalStats(page, sessionId))?.cols ?? 0, { timeout: 10_000 })
      .toBeGreaterThan(cols + 20);
    await expect
      .poll(async () => cellFrom(await terminalText(page, sessionId), head).lines, { timeout: 10_000 })
      .toBe(1);
    const wide = await terminalText(page, sessionId);
    expect(cellFrom(wide, head).cell).toBe(longPath);
    const afterCommand = wide.slice(wide.lastIndexOf('findfile "zz-implant-*"'));
    expect(afterCommand.match(/^\s*size\s+mtime\s+path\s*$/gm)).toHaveLength(1);
    expect(afterCommand.split(longPath)).toHaveLength(2);
    await screenshot(page, 'item5-table-redrawn-1400');
    // And back: wrapped again at the narrow width.
    await page.setViewportSize({ width: 1024, height: 760 });
    await expect
      .poll(async () => cellFrom(await terminalText(page, sessionId), head).lines, { timeout: 10_000 })
      .toBeGreaterThan(1);
    expect(cellFrom(await terminalText(page, sessionId), head).cell).toBe(longPath);

    // More rows than the console keeps: a footer, and every row in the case's evidence.
    const flood = path.join(fixture, 'flood');
    mkdirSync(flood);
    for (let i = 0; i < MANY_ROWS; i += 1) writeFileSync(path.join(flood, `row-${String(i).padStart(5, '0')}.log`), '');
    const tail = await run(page, sessionId, `findfile "row-*.log" -path ${flood}`, 120_000);
    const footer =
      /10,500 rows of output: the console keeps the last 10,000 lines; .*the full output was saved as evidence (findfile-\S+-full-output\.txt) in the active case "[^"]*" \(sha256 ([0-9a-f]{64})\)/.exec(
        tail.replace(/\n/g, ''),
      );
    expect(footer, tail.slice(-600)).not.toBeNull();
    await screenshot(page, 'item5-flood-footer-1024');
    const db = new Database(path.join(ws.dataDir, 'cases', 'cases.db'), { readonly: true });
    try {
      const item = db.prepare('SELECT name, kind, sha256, size FROM evidence WHERE name = ?').get(footer?.[1]) as
        { name: string; kind: string; sha256: string; size: number } | undefined;
      expect(item).toMatchObject({ kind: 'output', sha256: footer?.[2] });
      const sha = item?.sha256 ?? '';
      const lines = readFileSync(path.join(ws.dataDir, 'cases', 'evidence', sha.slice(0, 2), sha), 'utf8')
        .trimEnd()
        .split('\n');
      expect(lines).toHaveLength(MANY_ROWS + 2);
      const names = new Set(lines.slice(2).map((line) => path.basename(line.trim().split(/\s+/).pop() ?? '')));
      expect(names.size).toBe(MANY_ROWS);
      expect(names.has('row-00000.log') && names.has('row-10499.log')).toBe(true);
    } finally {
      db.close();
    }

    // Case search: the last rows are past the transcript's first 1 MiB, found in the saved full output,
    // and the answer says what it read.
    await page.getByTestId('nav-cases').click();
    await page.getByTestId('search-input').fill('row-10499');
    const hit = page.locator('[data-testid="search-hit"][data-kind="evidence"]');
    await hit.first().waitFor({ timeout: 15_000 });
    expect(await hit.first().textContent()).toContain(footer?.[1]);
    expect(await page.getByTestId('search-covered').textContent()).toMatch(
      /transcripts \(the first 1 MiB of each command's output\), evidence names \(1 item\) and the text of 1 saved console output/,
    );
    await screenshot(page, 'item5-case-search-covered-1024');
    await page.setViewportSize({ width: 1400, height: 760 });
    await screenshot(page, 'item5-case-search-covered-1400');
  }, 240_000);
});
