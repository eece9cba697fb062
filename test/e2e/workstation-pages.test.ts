/**
 * Against the browser shell as a real process (standalone mode:
 * embedded service + this machine's agent), in Debian's Chromium, at 1400 and 1024 px:
 *   10. the Log page: output as the console renders it (table, JSON, a single record's fields), full width,
 *       download, an empty state, a selection dropped when filtered out, search over the output text,
 *       secondary columns dropped first when narrow;
 *   11. the console header shows the active case and switches it; "stored as evidence" names the case and
 *       links to the item; creating a case says it became active;
 *   13. the Library: a name conflict offered as Replace / Rename / Skip before any byte is sent, errors
 *       without internal channel names, failures shown as failures, `run`/`putfile` complete library names;
 *   14. Cases: the evidence viewer beside the list with no scroll area inside another at 1024 px, copy
 *       buttons for hashes, strings of the whole file with a minimum length and a filter, a one-record
 *       JSON file as fields, a markdown preview of notes, the case export downloadable from the browser.
 * One workstation, the tests in order. Screenshots in test-results/workstation-pages-*.png.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCase, gotoCases } from './cases-helpers.js';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
  HOST,
  openConsoleFor,
  openWorkstation,
  run,
  runCli,
  startWorkstation,
  terminalStats,
  terminalText,
  type Workstation,
} from './workstation-helpers.js';

let browser: Browser;
let ws: Workstation;
let page: Page;
let sessionId = '';
let fixture: string;
const tag = randomBytes(4).toString('hex');
/** Computed styles, read in Chromium (the test's own compiler has no DOM types: the window is typed here). */
type Styled = { getComputedStyle(element: unknown): { display: string; color: string } };
const DISPLAY = (e: unknown): string => (globalThis as unknown as Styled).getComputedStyle(e).display;
const COLOR = (e: unknown): string => (globalThis as unknown as Styled).getComputedStyle(e).color;
/** A file name that appears in a `dir` output and in no command line. */
const NEEDLE = `needle-${tag}.txt`;
/** The file `fileinfo` looks at (a single-record output). */
const INFO = `info-${tag}.txt`;

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-pages-e2e-'));
  mkdirSync(path.join(fixture, 'listed'));
  writeFileSync(path.join(fixture, 'listed', NEEDLE), 'x\n');
  writeFileSync(path.join(fixture, INFO), 'x\n');
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(ws.url).origin });
}, 120_000);

afterAll(async () => {
  await page?.close().catch(() => undefined);
  await browser?.close();
  await ws?.cleanup();
  if (fixture) rmSync(fixture, { recursive: true, force: true });
});

async function gotoLog(): Promise<void> {
  await page.getByTestId('nav-log').click();
  await page.getByTestId('section-log').waitFor();
}

async function search(text: string): Promise<void> {
  await page.getByTestId('log-search').fill(text);
  await expect
    .poll(
      async () =>
        (await page.getByTestId('log-list').getAttribute('data-filter'))?.includes(JSON.stringify(text)) &&
        (await page.getByTestId('log-list').getAttribute('data-ready')) === 'true',
      { timeout: 10_000 },
    )
    .toBe(true);
}

async function selectRow(commandLine: string): Promise<string> {
  const row = page.locator('[data-testid="log-row"]', { hasText: commandLine }).first();
  await row.click();
  const id = (await row.getAttribute('data-id')) ?? '';
  await page.locator(`[data-testid="log-detail"][data-id="${id}"] [data-testid="log-detail-output"]`).waitFor();
  return id;
}

async function dropFiles(files: { name: string; content: string }[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    `(() => { const dt = new DataTransfer(); for (const f of ${JSON.stringify(files)}) dt.items.add(new File([f.content], f.name, { type: 'text/plain' })); return dt; })()`,
  );
  await page.getByTestId('library-dropzone').dispatchEvent('dragover', { dataTransfer });
  await page.getByTestId('library-dropzone').dispatchEvent('drop', { dataTransfer });
}

/**
 * Hovers the text `needle` in the visible terminal rows (xterm's DOM renderer: one div per row) and says
 * whether xterm shows it as a link (its pointer cursor).
 */
async function hoverTerminalText(needle: string): Promise<{ x: number; y: number; link: boolean }> {
  const stats = await terminalStats(page, sessionId);
  // Plain JavaScript (a string): it runs in Chromium, not in Node.
  const box = (await page.evaluate(`(({ id, wanted, cols }) => {
    const screen = document.querySelector('[data-testid="terminal-' + id + '"] .xterm-screen');
    const rows = [...document.querySelectorAll('[data-testid="terminal-' + id + '"] .xterm-rows > div')];
    const row = rows.find((r) => (r.textContent || '').includes(wanted));
    if (!screen || !row) return undefined;
    const at = (row.textContent || '').indexOf(wanted);
    const cell = screen.getBoundingClientRect().width / cols;
    const r = row.getBoundingClientRect();
    return { x: r.left + (at + 2) * cell + cell / 2, y: r.top + r.height / 2 };
  })(${JSON.stringify({ id: sessionId, wanted: needle, cols: stats?.cols ?? 80 })})`)) as
    { x: number; y: number } | undefined;
  if (!box) throw new Error(`"${needle}" is not on the terminal's screen`);
  // xterm asks the link providers on hover, and shows a pointer over a link.
  await page.mouse.move(box.x - 20, box.y);
  await page.mouse.move(box.x, box.y, { steps: 4 });
  const link = await page
    .locator(`[data-testid="terminal-${sessionId}"] .xterm-cursor-pointer`)
    .waitFor({ timeout: 3_000 })
    .then(
      () => true,
      () => false,
    );
  return { ...box, link };
}

describe('log, active case, library, cases', () => {
  it('item 10: the Log page says it is empty, then shows output as the console renders it, full width, downloadable, searchable by output', async () => {
    await gotoLog();
    await expect.poll(() => page.getByTestId('log-empty').textContent()).toContain('No commands yet');
    await screenshot(page, 'workstation-pages-10-log-empty-1400');

    sessionId = await openConsoleFor(page, HOST);
    await focusConsole(page, HOST);
    await run(page, sessionId, `dir ${path.join(fixture, 'listed')}`);
    await run(page, sessionId, `fileinfo ${path.join(fixture, INFO)}`);
    await run(page, sessionId, `dir ${fixture} -output json`);

    await gotoLog();
    // A table, as the console prints it: header, dashed rule, the file.
    await selectRow(`dir ${path.join(fixture, 'listed')}`);
    const table = (await page.getByTestId('log-detail-output').textContent()) ?? '';
    expect(table).toMatch(/name\s+.*\n?-{4,}/);
    expect(table).toContain(NEEDLE);
    expect(table).not.toContain('[{'); // not the stored JSON lines
    // A single record: its fields, one per line.
    await selectRow(`fileinfo ${path.join(fixture, INFO)}`);
    const fields = page.getByTestId('log-detail-fields');
    await fields.waitFor();
    expect(await fields.locator('dt').allTextContents()).toContain('sha256');
    // -output json: pretty JSON.
    await selectRow(`dir ${fixture} -output json`);
    expect(await page.getByTestId('log-detail-output').textContent()).toMatch(/\[\n\s+\{\n\s+"/);
    await screenshot(page, 'workstation-pages-10-log-detail-1400');

    // Full width, then back to the list.
    await page.getByTestId('log-detail-wide').click();
    expect(await page.getByTestId('log-list').isVisible()).toBe(false);
    expect((await page.getByTestId('log-detail').boundingBox())?.width ?? 0).toBeGreaterThan(1000);
    await screenshot(page, 'workstation-pages-10-log-full-width-1400');
    // The download is the output as shown.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('log-detail-download').click(),
    ]);
    const saved = readFileSync((await download.path()) ?? '', 'utf8');
    expect(saved).toContain('"name": "listed"');
    await page.getByTestId('log-detail-wide').click();
    expect(await page.getByTestId('log-list').isVisible()).toBe(true);

    // Search covers the output: the needle is in the first dir's output only, in no command line.
    await search(NEEDLE);
    await expect.poll(() => page.getByTestId('log-list').getAttribute('data-total')).toBe('1');
    expect(await page.locator('[data-testid="log-row"]').first().textContent()).toContain(
      `dir ${path.join(fixture, 'listed')}`,
    );

    // The selected JSON dir does not match the needle: the selection went with it.
    await expect.poll(() => page.getByTestId('log-detail').getAttribute('data-id')).toBe(null);
    await selectRow(`dir ${path.join(fixture, 'listed')}`);
    await page.getByTestId('log-filter-status').selectOption('failed');
    await expect.poll(() => page.getByTestId('log-detail').getAttribute('data-id')).toBe(null);
    await expect.poll(() => page.getByTestId('log-empty').textContent()).toContain('No command matches these filters');
    await screenshot(page, 'workstation-pages-10-log-no-match-1400');
    await page.getByTestId('log-empty').getByRole('button', { name: 'Clear the filters' }).click();
    await expect
      .poll(async () => Number(await page.getByTestId('log-list').getAttribute('data-total')))
      .toBeGreaterThanOrEqual(3);

    // 1024 px: the user column goes first; the command line keeps its room.
    await selectRow(`fileinfo ${path.join(fixture, INFO)}`);
    await page.setViewportSize({ width: 1024, height: 760 });
    const head = page.locator('.log-row--head > span');
    await expect.poll(() => head.nth(2).evaluate(DISPLAY)).toBe('none');
    expect(await head.nth(3).evaluate(DISPLAY)).not.toBe('none');
    expect((await head.nth(3).boundingBox())?.width ?? 0).toBeGreaterThan(120);
    await screenshot(page, 'workstation-pages-10-log-1024');
    await page.setViewportSize({ width: 1400, height: 860 });
  });

  it('item 11: creating a case says it is active; the console header shows and switches it; the evidence line names the case and links to the item', async () => {
    const first = await createCase(page, `Item 11 first ${tag}`);
    expect(await page.getByTestId('cases-created-note').textContent()).toContain(
      `“Item 11 first ${tag}” is now the active case`,
    );
    const second = await createCase(page, `Item 11 second ${tag}`);

    await focusConsole(page, HOST);
    const header = page.getByTestId('active-case');
    await expect.poll(() => header.getAttribute('data-case-id')).toBe(second);
    // Switch back to the first case from the console header.
    await page.getByTestId('active-case-select').selectOption(first);
    await expect.poll(() => header.getAttribute('data-case-id')).toBe(first);
    await screenshot(page, 'workstation-pages-11-console-header-1400');

    await focusConsole(page, HOST);
    const sample = path.join(fixture, `item11-${tag}.txt`);
    writeFileSync(sample, 'item 11 evidence\n');
    const out = await run(page, sessionId, `getfile ${sample}`);
    expect(out).toContain(`in the active case "Item 11 first ${tag}"`);
    const reference = new RegExp(`open it in Cases: evidence/${first}/([A-Za-z0-9_-]+)`).exec(
      await terminalText(page, sessionId),
    );
    expect(reference).not.toBeNull();
    await page.setViewportSize({ width: 1024, height: 760 });
    await screenshot(page, 'workstation-pages-11-evidence-line-1024');
    await page.setViewportSize({ width: 1400, height: 860 });

    // Text from the device that looks like a reference is not a link (only main's notices are).
    const forged = path.join(fixture, 'evidence', first, 'forged1234ab');
    mkdirSync(path.dirname(forged), { recursive: true });
    writeFileSync(forged, 'x\n');
    await run(page, sessionId, `fileinfo ${forged}`);
    expect((await hoverTerminalText(`evidence/${first}/forged1234ab`)).link).toBe(false);

    // The reference is a link: a click opens the Cases page on that item.
    const target = await hoverTerminalText(`evidence/${first}/${reference?.[1] ?? ''}`);
    expect(target.link).toBe(true);
    await page.mouse.click(target.x, target.y);
    await page.getByTestId('section-cases').waitFor();
    await expect.poll(() => page.getByTestId('evidence-viewer').getAttribute('data-id')).toBe(reference?.[1]);
    expect(await page.getByTestId('evidence-name').textContent()).toBe(`item11-${tag}.txt`);
  });

  it('item 13: a name conflict is settled (Replace / Rename / Skip) before any byte is sent; errors read without channel names; failures look like failures; run/putfile complete library names', async () => {
    await page.getByTestId('nav-library').click();
    await page.getByTestId('library-upload').waitFor();
    await dropFiles([{ name: `dup-${tag}.sh`, content: 'echo one\n' }]);
    await page.getByTestId('upload-confirm').click();
    await page
      .locator(`[data-testid="upload-item"][data-name="dup-${tag}.sh"][data-state="done"]`)
      .waitFor({ timeout: 20_000 });

    // The same name again: the conflict shows when the file is staged, Confirm waits for a choice.
    await dropFiles([{ name: `dup-${tag}.sh`, content: 'echo two\n' }]);
    const staged = page.locator(`[data-testid="staged-item"][data-name="dup-${tag}.sh"]`);
    await staged.getByTestId('upload-conflict').waitFor();
    // Fields and results of the previous drop are gone.
    expect(await page.getByTestId('upload-item').count()).toBe(0);
    expect(await staged.getByTestId('upload-description').inputValue()).toBe('');
    expect(await page.getByTestId('upload-confirm').isDisabled()).toBe(true);
    await staged.getByTestId('upload-conflict-rename').click();
    expect(await staged.getByTestId('upload-conflict-name').inputValue()).toBe(`dup-${tag}-2.sh`);
    await screenshot(page, 'workstation-pages-13-library-conflict-1400');
    await page.getByTestId('upload-confirm').click();
    await page
      .locator(`[data-testid="upload-item"][data-name="dup-${tag}-2.sh"][data-state="done"]`)
      .waitFor({ timeout: 20_000 });

    // Replace: the library's copy is replaced.
    await dropFiles([{ name: `dup-${tag}.sh`, content: 'echo three\n' }]);
    await staged.getByTestId('upload-conflict-replace').click();
    await page.getByTestId('upload-confirm').click();
    const replaced = page.locator(`[data-testid="upload-item"][data-name="dup-${tag}.sh"][data-state="done"]`);
    await replaced.waitFor({ timeout: 20_000 });
    expect(await replaced.textContent()).toContain('replaced');

    // A name that appears in the library after the drop (another analyst) is caught at Confirm, before any byte.
    await dropFiles([{ name: `race-${tag}.sh`, content: 'echo mine\n' }]);
    const raced = page.locator(`[data-testid="staged-item"][data-name="race-${tag}.sh"]`);
    await raced.waitFor();
    expect(await raced.getByTestId('upload-conflict').count()).toBe(0);
    const theirs = path.join(fixture, `race-${tag}.sh`);
    writeFileSync(theirs, 'echo theirs\n');
    runCli('lr', ['--profile', ws.adminProfile, 'library', 'upload', theirs, '--description', 'theirs']);
    await page.getByTestId('upload-confirm').click();
    await raced.getByTestId('upload-conflict').waitFor();
    expect(await page.getByTestId('upload-item').count()).toBe(0);
    await raced.getByTestId('upload-conflict-skip').click();
    await page.getByTestId('upload-confirm').click();
    await expect.poll(() => page.getByTestId('upload-staged').count()).toBe(0);
    await expect.poll(() => page.getByTestId(`library-row-race-${tag}.sh`).textContent()).toContain('theirs');

    // A failure is shown as one: red, marked failed, with its reason.
    await dropFiles([{ name: 'bad;name.sh', content: 'echo\n' }]);
    await page.getByTestId('upload-confirm').click();
    const failed = page.locator('[data-testid="upload-item"][data-name="bad;name.sh"][data-state="failed"]');
    await failed.waitFor();
    expect(await failed.getAttribute('role')).toBe('alert');
    expect(await failed.locator('.pill--bad').textContent()).toBe('failed');
    expect(await failed.getByTestId('upload-item-message').evaluate(COLOR)).toMatch(
      /rgb\(2[0-9]{2}, 1[0-2][0-9], 1[0-2][0-9]\)/,
    );
    await screenshot(page, 'workstation-pages-13-library-failed-1400');

    // An error from main reads without the internal channel name: delete a file someone else deleted first.
    runCli('lr', ['--profile', ws.adminProfile, 'library', 'delete', `race-${tag}.sh`]);
    await page.getByTestId(`library-row-race-${tag}.sh`).getByTestId('library-delete').click();
    await page.getByTestId('library-delete-dialog').getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByTestId('library-delete-dialog');
    await expect.poll(async () => (await dialog.textContent()) ?? '').toContain(`no library file race-${tag}.sh`);
    expect(await dialog.textContent()).not.toContain('lr:library');
    await page.setViewportSize({ width: 1024, height: 760 });
    await screenshot(page, 'workstation-pages-13-library-error-1024');
    await page.setViewportSize({ width: 1400, height: 860 });
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // Completion of library names.
    await focusConsole(page, HOST);
    await page.keyboard.type(`putfile dup-${tag}-`);
    await page.keyboard.press('Tab');
    await expect
      .poll(async () => (await terminalText(page, sessionId)).split('\n').pop())
      .toContain(`putfile dup-${tag}-2.sh`);
    await page.keyboard.press('Control+U');
    await page.keyboard.type(`run dup-${tag}`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await expect
      .poll(async () => await terminalText(page, sessionId))
      .toMatch(new RegExp(`dup-${tag}-2\\.sh\\s+dup-${tag}\\.sh`));
    await screenshot(page, 'workstation-pages-13-completion-1400');
    await page.keyboard.press('Control+U');
  });

  it('item 14: evidence beside the list without nested scrolling at 1024 px, copyable hashes, strings of the whole file, a record as fields, markdown notes, the export as a download', async () => {
    const caseId = await createCase(page, `Item 14 ${tag}`);
    // 3 MiB: a string at the start, random bytes, a short and a long string near the end (far past one page).
    const blob = Buffer.concat([
      Buffer.from('HEADER-STRING at the start\n'),
      randomBytes(3 * 1024 * 1024),
      Buffer.from('\0SHORT10CHR\0\0NEEDLE-AT-THE-END of the file\0'),
    ]);
    const big = path.join(fixture, `strings-${tag}.bin`);
    writeFileSync(big, blob);
    await focusConsole(page, HOST);
    await run(page, sessionId, `getfile ${big}`, 60_000);
    await run(page, sessionId, `fileinfo ${big} -output json > record-${tag}.json`);

    await gotoCases(page);
    await page.getByTestId(`case-row-${caseId}`).click();
    await page.getByTestId('case-tab-evidence').click();
    await page.locator('[data-testid^="evidence-row-"]', { hasText: `strings-${tag}.bin` }).click();
    await page.getByTestId('evidence-viewer').waitFor();

    // Copy the SHA-256.
    const sha256 = (await page.getByTestId('evidence-sha256').textContent()) ?? '';
    await page.getByTestId('evidence-copy-sha256').click();
    await expect.poll(() => page.getByTestId('evidence-copy-sha256').getAttribute('data-state')).toBe('copied');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(sha256);

    // Strings: the filter finds a string 3 MiB in; the minimum length hides a 10-character one.
    await page.getByTestId('evidence-preview-mode-strings').click();
    await page.getByTestId('evidence-strings-filter').fill('needle-at-the-end');
    const end = blob.indexOf('NEEDLE-AT-THE-END').toString(16).padStart(8, '0');
    await expect
      .poll(() => page.getByTestId('evidence-preview').textContent(), { timeout: 15_000 })
      .toBe(`${end}  NEEDLE-AT-THE-END of the file`);
    expect(await page.getByTestId('evidence-preview-range').textContent()).toContain('to the end of the file');
    await page.getByTestId('evidence-strings-filter').fill('SHORT10CHR');
    await expect
      .poll(() => page.getByTestId('evidence-preview').textContent(), { timeout: 15_000 })
      .toContain('SHORT10CHR');
    await page.getByTestId('evidence-strings-min').fill('11');
    await expect
      .poll(() => page.getByTestId('evidence-preview').textContent(), { timeout: 15_000 })
      .toContain('(no strings containing “SHORT10CHR” in this range)');
    await page.getByTestId('evidence-strings-filter').fill('');
    await page.getByTestId('evidence-strings-min').fill('4');
    await expect
      .poll(() => page.getByTestId('evidence-preview').textContent(), { timeout: 15_000 })
      .toContain('HEADER-STRING');

    // 1024 px: the viewer beside the list; no scroll area inside another.
    await page.setViewportSize({ width: 1024, height: 760 });
    const list = await page.locator('.evidence__table').boundingBox();
    const viewer = await page.locator('.evidence__viewer').boundingBox();
    expect(list && viewer && viewer.x >= list.x + list.width - 1).toBe(true);
    // Every element that scrolls vertically (overflow auto/scroll and more content than room) inside another one.
    const nested = await page.evaluate(`(() => {
      const scrolls = (e) => /(auto|scroll)/.test(getComputedStyle(e).overflowY) && e.scrollHeight > e.clientHeight + 1;
      const areas = [...document.querySelectorAll('[data-testid="section-cases"] *')].filter(scrolls);
      return areas.filter((a) => areas.some((b) => b !== a && b.contains(a))).map((a) => a.className);
    })()`);
    expect(nested).toEqual([]);
    await screenshot(page, 'workstation-pages-14-evidence-1024');
    await page.setViewportSize({ width: 1400, height: 860 });
    await screenshot(page, 'workstation-pages-14-evidence-1400');

    // A saved one-record JSON output: its fields.
    await page.locator('[data-testid^="evidence-row-"]', { hasText: `record-${tag}.json` }).click();
    const record = page.getByTestId('evidence-record');
    await record.waitFor();
    expect(await record.locator('dt').allTextContents()).toContain('sha256');
    await screenshot(page, 'workstation-pages-14-record-1400');

    // Markdown preview: structure rendered, markup from the text never interpreted.
    await page.getByTestId('case-tab-notes').click();
    await page.getByTestId('note-new').click();
    await page
      .getByTestId('note-body')
      .fill('# Findings\n\n- **persistence** in `/etc/cron.d/x`\n- second\n\n<img src=x onerror=alert(1)>');
    await page.getByTestId('note-mode-preview').click();
    const preview = page.getByTestId('note-preview');
    expect(await preview.locator('h3').textContent()).toBe('Findings');
    expect(await preview.locator('li strong').textContent()).toBe('persistence');
    expect(await preview.locator('li code').textContent()).toBe('/etc/cron.d/x');
    expect(await preview.locator('img').count()).toBe(0);
    expect(await preview.textContent()).toContain('<img src=x onerror=alert(1)>');
    await screenshot(page, 'workstation-pages-14-note-preview-1400');
    await page.getByTestId('note-mode-edit').click();

    // The export, downloaded through the browser (the session cookie), byte for byte the file written.
    await page.getByTestId('cases-export').click();
    const result = page.getByTestId('cases-export-result');
    await result.waitFor({ timeout: 60_000 });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('cases-export-download').click(),
    ]);
    const zip = readFileSync((await download.path()) ?? '');
    expect(zip.equals(readFileSync((await result.getAttribute('data-path')) ?? ''))).toBe(true);
    expect(download.suggestedFilename()).toMatch(/^case-item-14-.*\.zip$/);
    // Without the cookie, or for anything but an export's name: nothing.
    const href = (await page.getByTestId('cases-export-download').getAttribute('href')) ?? '';
    const origin = new URL(ws.url).origin;
    expect((await fetch(`${origin}${href}`)).status).toBe(403);
    const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    expect((await fetch(`${origin}${href}`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${origin}/downloads/case-export/..%2Fcases%2Fcases.db`, { headers: { cookie } })).status).toBe(
      404,
    );
    expect(
      (await fetch(`${origin}/downloads/case-export/case-never-exported.zip`, { headers: { cookie } })).status,
    ).toBe(404);
    await screenshot(page, 'workstation-pages-14-export-1400');
  });
});
