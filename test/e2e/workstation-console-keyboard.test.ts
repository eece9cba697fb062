/**
 * The console under the keyboard, against the browser shell as a real
 * process in standalone mode (embedded service + this machine's agent) in Debian's Chromium:
 *   2. activating a tab focuses its terminal; the Disconnect dialog focuses Cancel; a closed session stays
 *      as a read-only tab with its scrollback until the analyst closes it;
 *   4. copy (Ctrl+C with a selection, Ctrl+Shift+C), paste (Ctrl+Shift+V, Shift+Insert), search (Ctrl+F);
 *   8. keys typed while a command runs are kept and typed at the prompt when it is back;
 *   9. "Tab moves focus" (Ctrl+M), shortcuts between tabs, the Log list under the arrows;
 *  15. a reload of the page brings the consoles back with their output, and the page the analyst was on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, type RunningProcess } from './helpers.js';
import {
  ensureWorkstationBuilt,
  HOST,
  openConsoleFor,
  openWorkstation,
  run,
  runCli,
  startExtraAgent,
  startWorkstation,
  terminalStats,
  terminalText,
  waitForPrompt,
  type Workstation,
} from './workstation-helpers.js';

const MARKER = 'zebra-marker-7f3a.txt';
/** A command that keeps the device busy for a while: a whole-disk walk for a name that does not exist. */
const LONG_COMMAND = 'findfile zz-never-there-91c2 -path /';

let ws: Workstation;
let browser: Browser;
let page: Page;
let fixture: string;
let extra: RunningProcess | undefined;

type Hook = { __lrTerminals?: { selectFirst(id: string, text: string): boolean; selection(id: string): string } };

/** What has the focus: a data-testid, or "terminal:<tab id>" for a terminal's input (runs in Chromium). */
function focused(p: Page): Promise<string> {
  return p.evaluate(`(() => {
    const element = document.activeElement;
    if (!element) return '';
    const slot = element.closest('[data-testid^="terminal-"]');
    if (slot && element.classList.contains('xterm-helper-textarea')) return 'terminal:' + slot.getAttribute('data-testid').slice('terminal-'.length);
    return element.getAttribute('data-testid') || element.tagName.toLowerCase();
  })()`);
}

/** Selects the first occurrence of `text` in the terminal's buffer with xterm's select API (test hook). */
async function selectText(p: Page, id: string, text: string): Promise<void> {
  expect(
    await p.evaluate(({ id: tabId, text: wanted }) => (globalThis as Hook).__lrTerminals?.selectFirst(tabId, wanted), {
      id,
      text,
    }),
  ).toBe(true);
  expect(await p.evaluate((tabId) => (globalThis as Hook).__lrTerminals?.selection(tabId), id)).toBe(text);
}

/** A screenshot at 1400 px wide, then at 1024 px (the terminal refits), then back. */
async function screenshots(p: Page, name: string): Promise<void> {
  await screenshot(p, name);
  await p.setViewportSize({ width: 1024, height: 760 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  await screenshot(p, `${name}-1024`);
  await p.setViewportSize({ width: 1400, height: 860 });
}

function clipboard(p: Page): Promise<string> {
  return p.evaluate('navigator.clipboard.readText()');
}

/** The page's clipboard permissions: only these. */
async function grantOnly(p: Page, ...permissions: string[]): Promise<void> {
  await p.context().clearPermissions();
  await p.context().grantPermissions(permissions, { origin: new URL(ws.url).origin });
}

async function setClipboard(p: Page, text: string): Promise<void> {
  await p.evaluate(`navigator.clipboard.writeText(${JSON.stringify(text)})`);
}

function lastLine(text: string): string {
  return text.split('\n').pop() ?? '';
}

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-e2e-keys-'));
  writeFileSync(path.join(fixture, MARKER), 'x');
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await extra?.stop();
  await ws?.cleanup();
  rmSync(fixture, { recursive: true, force: true });
});

describe('workstation console keyboard', () => {
  it('item 2: a tab click focuses its terminal; Disconnect confirms with Cancel focused; a closed session stays read-only until its tab is closed', async () => {
    const id = await openConsoleFor(page, HOST);
    await run(page, id, `cd ${fixture}`);
    expect(await run(page, id, 'dir')).toContain(MARKER);

    // Clicking the tab that is already active: the focus goes (back) to its terminal, typing reaches it.
    await page.getByTestId(`console-tab-${HOST}`).click();
    await expect.poll(() => focused(page)).toBe(`terminal:${id}`);
    expect(await run(page, id, 'cd /tmp')).toContain(`${HOST}:/tmp>`);
    // Enter on the focused tab (keyboard activation) too.
    await page.getByTestId(`console-tab-${HOST}`).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe(`terminal:${id}`);

    // Keyboard only to Disconnect: Shift+Tab leaves the terminal while "Tab moves focus" is on.
    await page.keyboard.press('Control+m');
    await expect
      .poll(async () => page.getByTestId('console-tab-moves-focus').getAttribute('aria-pressed'))
      .toBe('true');
    await page.keyboard.press('Shift+Tab');
    expect(await focused(page)).toBe('console-disconnect');
    await page.keyboard.press('Enter');
    await page.getByTestId('disconnect-dialog').waitFor();
    // The destructive button is not the default: Cancel has the focus, Enter keeps the session.
    expect(await focused(page)).toBe('disconnect-dialog-cancel');
    await screenshot(page, 'item2-disconnect-dialog-cancel-focused');
    await page.keyboard.press('Enter');
    await page.getByTestId('disconnect-dialog').waitFor({ state: 'detached' });
    expect(await page.getByTestId('closed-banner').count()).toBe(0);
    // Cancel gives the focus back to the terminal; Ctrl+M there turns "Tab moves focus" off again.
    expect(await focused(page)).toBe(`terminal:${id}`);
    await page.keyboard.press('Control+m');
    expect(await page.getByTestId('console-tab-moves-focus').getAttribute('aria-pressed')).toBe('false');
    expect(await run(page, id, 'cd /')).toContain(`${HOST}:/>`);

    // Disconnect for real: the tab stays with its scrollback, read-only.
    await page.getByTestId('console-disconnect').click();
    await page.getByTestId('disconnect-dialog-confirm').click();
    const banner = page.getByTestId('closed-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('Session closed: disconnected by the analyst');
    expect(await page.getByTestId(`console-tab-${HOST}`).count()).toBe(1);
    expect(await terminalText(page, id)).toContain(MARKER);
    await expect.poll(() => focused(page)).toBe(`terminal:${id}`);
    await page.keyboard.type('dir', { delay: 0 });
    await page.keyboard.press('Enter');
    await expect
      .poll(async () => terminalText(page, id))
      .toContain('not sent: this session is closed (disconnected by the analyst)');
    await waitForPrompt(page, id);
    await screenshot(page, 'item2-closed-session-read-only');
    await page.setViewportSize({ width: 1024, height: 760 });
    await screenshot(page, 'item2-closed-session-read-only-1024');
    await page.setViewportSize({ width: 1400, height: 860 });
    // Only the analyst closes it.
    await page.getByTestId('console-close-tab').click();
    await page.getByTestId(`console-tab-${HOST}`).waitFor({ state: 'detached' });
  });

  it('item 4: Ctrl+C copies a selection without cancelling, Ctrl+Shift+C copies, Ctrl+Shift+V / Shift+Insert paste, Ctrl+F searches', async () => {
    const id = await openConsoleFor(page, HOST);
    await run(page, id, `cd ${fixture}`);
    expect(await run(page, id, 'dir')).toContain(MARKER);

    // The page may only read the clipboard (to check it): the copy itself needs no permission, as in
    // Electron, whose session denies every permission request.
    await grantOnly(page, 'clipboard-read');
    // A command runs; Ctrl+C with a selection copies, and the command goes on.
    await page.keyboard.type(LONG_COMMAND, { delay: 0 });
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await terminalStats(page, id))?.running).toBe(true);
    await selectText(page, id, MARKER);
    await page.keyboard.press('Control+c');
    await expect.poll(() => clipboard(page)).toBe(MARKER);
    expect(await page.getByTestId('console-note').textContent()).toContain(`copied ${MARKER.length} characters`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    let text = await terminalText(page, id);
    expect(text).not.toContain('^C');
    expect((await terminalStats(page, id))?.running).toBe(true);
    // Without a selection Ctrl+C is still the interrupt.
    await page.keyboard.press('Control+c');
    await expect.poll(async () => terminalText(page, id)).toContain('^C (cancelling on the device)');
    await waitForPrompt(page, id, 60_000);
    const cancelled = JSON.parse(runCli('lr', ['--profile', ws.adminProfile, 'log', '--json'])) as {
      commandLine: string;
      status: string;
    }[];
    expect(cancelled.filter((c) => c.commandLine === LONG_COMMAND).map((c) => c.status)).toEqual(['cancelled']);

    // Ctrl+Shift+C and Ctrl+Insert copy too (and never interrupt).
    for (const keys of ['Control+Shift+C', 'Control+Insert']) {
      await grantOnly(page, 'clipboard-read', 'clipboard-write');
      await setClipboard(page, 'nothing yet');
      await grantOnly(page, 'clipboard-read');
      await selectText(page, id, MARKER);
      await page.keyboard.press(keys);
      await expect.poll(() => clipboard(page)).toBe(MARKER);
    }
    expect(lastLine(await terminalText(page, id)).trimEnd()).toBe(`${HOST}:${fixture}>`);

    // Ctrl+Shift+V pastes into the line editor, as one line (a newline never runs anything). The page may
    // only write the clipboard (to fill it): the paste itself needs no permission.
    await grantOnly(page, 'clipboard-write');
    await setClipboard(page, 'fileinfo zebra\nrm -rf');
    await page.keyboard.press('Control+Shift+V');
    await expect
      .poll(async () => lastLine(await terminalText(page, id)))
      .toBe(`${HOST}:${fixture}> fileinfo zebra rm -rf`);
    await page.keyboard.press('Control+u');
    await setClipboard(page, `fileinfo ${MARKER}`);
    await page.keyboard.press('Shift+Insert');
    await expect
      .poll(async () => lastLine(await terminalText(page, id)))
      .toBe(`${HOST}:${fixture}> fileinfo ${MARKER}`);
    await page.keyboard.press('Control+u');

    // Ctrl+F: the search bar takes the focus, highlights (selects) a match; Escape gives the focus back.
    await page.keyboard.press('Control+f');
    await page.getByTestId('console-search').waitFor();
    expect(await focused(page)).toBe('console-search-input');
    await page.keyboard.type('zebra-marker', { delay: 0 });
    await expect.poll(() => page.getByTestId('console-search-status').textContent()).toMatch(/^\d+ of \d+$/);
    expect(await page.evaluate((tabId) => (globalThis as Hook).__lrTerminals?.selection(tabId), id)).toBe(
      'zebra-marker',
    );
    await page.keyboard.press('Enter');
    await screenshots(page, 'item4-search');
    // Ctrl+F again from the terminal: the open bar takes the focus back.
    await page.locator(`[data-testid="terminal-${id}"] .xterm`).click();
    expect(await focused(page)).toBe(`terminal:${id}`);
    await page.keyboard.press('Control+f');
    await expect.poll(() => focused(page)).toBe('console-search-input');
    await page.keyboard.press('Escape');
    await page.getByTestId('console-search').waitFor({ state: 'detached' });
    expect(await focused(page)).toBe(`terminal:${id}`);
    text = await terminalText(page, id);
    expect(text).not.toContain('^C\n');
  });

  it('item 8: keys typed while a command runs are shown and typed at the prompt when it is back', async () => {
    const id = (await page.getByTestId(`console-tab-${HOST}`).getAttribute('data-session-id')) as string;
    await page.getByTestId(`console-tab-${HOST}`).click();
    await page.keyboard.type('findfile zz-never-there-91c2 -path /usr', { delay: 0 });
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await terminalStats(page, id))?.running).toBe(true);
    // Typed during the walk: kept, shown under the terminal, not lost.
    await page.keyboard.type('cd /tmp', { delay: 0 });
    await page.keyboard.press('Enter');
    await page.keyboard.type('dir', { delay: 0 });
    const typeahead = page.getByTestId('console-typeahead');
    await expect.poll(() => typeahead.textContent()).toBe('typed ahead: cd /tmp ⏎ dir');
    await screenshots(page, 'item8-typeahead');
    // The walk ends, `cd /tmp` runs, and `dir` waits on the new prompt for its Enter.
    await expect
      .poll(async () => lastLine(await terminalText(page, id)), { timeout: 120_000 })
      .toBe(`${HOST}:/tmp> dir`);
    expect(await typeahead.count()).toBe(0);
    const log = JSON.parse(runCli('lr', ['--profile', ws.adminProfile, 'log', '--json'])) as {
      commandLine: string;
      status: string;
    }[];
    expect(log.some((c) => c.commandLine === 'cd /tmp' && c.status === 'completed')).toBe(true);
    await page.keyboard.press('Control+u');

    // Ctrl+C cancels the command and says that what was typed ahead is not sent.
    await page.keyboard.type(LONG_COMMAND, { delay: 0 });
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await terminalStats(page, id))?.running).toBe(true);
    await page.keyboard.type('processes', { delay: 0 });
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+c');
    await expect.poll(async () => terminalText(page, id)).toContain('typed ahead, not sent (Ctrl+C): processes ⏎');
    await waitForPrompt(page, id, 60_000);
    const after = JSON.parse(runCli('lr', ['--profile', ws.adminProfile, 'log', '--json'])) as {
      commandLine: string;
    }[];
    expect(after.some((c) => c.commandLine === 'processes')).toBe(false);
  });

  it('item 9: Ctrl+M makes Tab leave the terminal; Ctrl+PageDown / Alt+N switch tabs into their terminal; arrows walk the Log list', async () => {
    const first = (await page.getByTestId(`console-tab-${HOST}`).getAttribute('data-session-id')) as string;
    await page.getByTestId(`console-tab-${HOST}`).click();
    await expect.poll(() => focused(page)).toBe(`terminal:${first}`);
    // Tab completes by default (the focus stays); with "Tab moves focus" it leaves the terminal.
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe(`terminal:${first}`);
    await page.keyboard.press('Control+m');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('console-tab-moves-focus');
    await page.keyboard.press('Enter'); // the toggle, by keyboard: off again
    expect(await page.getByTestId('console-tab-moves-focus').getAttribute('aria-pressed')).toBe('false');

    // A second device, a second tab: Ctrl+PageDown / Ctrl+PageUp / Alt+1..9 switch, focus in the terminal.
    extra = await startExtraAgent(ws, 'keys-second');
    const second = await openConsoleFor(page, 'keys-second');
    await expect.poll(() => focused(page)).toBe(`terminal:${second}`);
    await page.keyboard.press('Control+PageDown');
    await expect.poll(() => focused(page)).toBe(`terminal:${first}`);
    expect(await page.getByTestId(`console-tab-${HOST}`).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('Alt+2');
    await expect.poll(() => focused(page)).toBe(`terminal:${second}`);
    await page.keyboard.press('Control+PageUp');
    await expect.poll(() => focused(page)).toBe(`terminal:${first}`);
    // The line editor keeps its keys: Alt+B still moves by word, nothing switched.
    await page.keyboard.type('dir /tmp', { delay: 0 });
    await page.keyboard.press('Alt+b');
    await page.keyboard.type('x', { delay: 0 });
    await expect.poll(async () => lastLine(await terminalText(page, first))).toMatch(/> dir \/xtmp$/);
    await page.keyboard.press('End');
    await page.keyboard.press('Control+u');
    // The strip: arrows move along the tabs, Enter activates and focuses the terminal.
    await page.getByTestId(`console-tab-${HOST}`).focus();
    await page.keyboard.press('ArrowRight');
    expect(await focused(page)).toBe('console-tab-keys-second');
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe(`terminal:${second}`);
    await screenshots(page, 'item9-two-tabs-keys');

    // The Log list: arrows select rows, the detail follows.
    await page.getByTestId('nav-log').click();
    await page.getByTestId('log-row').first().waitFor();
    await page.getByTestId('log-viewport').focus();
    await page.keyboard.press('ArrowDown');
    await expect
      .poll(() => page.locator('[data-testid="log-row"][aria-selected="true"]').getAttribute('data-id'))
      .toBe(await page.getByTestId('log-row').nth(0).getAttribute('data-id'));
    await page.keyboard.press('ArrowDown');
    await expect
      .poll(() => page.locator('[data-testid="log-row"][aria-selected="true"]').getAttribute('data-id'))
      .toBe(await page.getByTestId('log-row').nth(1).getAttribute('data-id'));
    await page.keyboard.press('ArrowUp');
    await expect
      .poll(() => page.locator('[data-testid="log-row"][aria-selected="true"]').getAttribute('data-id'))
      .toBe(await page.getByTestId('log-row').nth(0).getAttribute('data-id'));
    await screenshot(page, 'item9-log-keyboard');

    // The Library: "Choose files" is a button the keyboard reaches.
    await page.getByTestId('nav-library').click();
    const choose = page.getByTestId('library-choose-files');
    await choose.focus();
    expect(await focused(page)).toBe('library-choose-files');
  });

  it('item 9: arrows walk the case transcript and evidence lists', async () => {
    const id =
      (await page.getByTestId(`console-tab-${HOST}`).count()) === 1
        ? ((await page.getByTestId(`console-tab-${HOST}`).getAttribute('data-session-id')) as string)
        : await openConsoleFor(page, HOST);
    await page.getByTestId('nav-consoles').click();
    await page.getByTestId(`console-tab-${HOST}`).click();
    // Two outputs saved as evidence, and their commands in the active case's transcript.
    await run(page, id, `dir ${fixture} > keys-one.txt`);
    await run(page, id, `dir ${fixture} > keys-two.txt`);
    await page.getByTestId('nav-cases').click();
    const activeCase = page.locator('[data-testid^="case-row-"][data-active="true"]');
    await activeCase.click();
    await page.getByTestId('case-tab-transcripts').click();
    await page.getByTestId('transcript-row').nth(1).waitFor();
    const rowIds = async (testId: string): Promise<string[]> =>
      page.getByTestId(testId).evaluateAll((rows) => rows.map((row) => row.getAttribute('data-id') ?? ''));
    const transcripts = await rowIds('transcript-row');
    await page.getByTestId('transcript-viewport').focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.getByTestId('transcript-viewer').getAttribute('data-id')).toBe(transcripts[0]);
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.getByTestId('transcript-viewer').getAttribute('data-id')).toBe(transcripts[1]);
    expect(await page.locator('[data-testid="transcript-row"][aria-selected="true"]').getAttribute('data-id')).toBe(
      transcripts[1],
    );

    await page.getByTestId('case-tab-evidence').click();
    await page.locator('.evidence__row').nth(1).waitFor();
    const evidence = await page
      .locator('.evidence__row')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-id') ?? ''));
    await page.getByTestId('evidence-list').focus();
    await page.keyboard.press('ArrowDown');
    await expect
      .poll(() => page.locator('.evidence__row[aria-selected="true"]').getAttribute('data-id'))
      .toBe(evidence[0]);
    await page.keyboard.press('ArrowDown');
    await expect
      .poll(() => page.locator('.evidence__row[aria-selected="true"]').getAttribute('data-id'))
      .toBe(evidence[1]);
    await page.keyboard.press('ArrowUp');
    await expect
      .poll(() => page.locator('.evidence__row[aria-selected="true"]').getAttribute('data-id'))
      .toBe(evidence[0]);
    await screenshot(page, 'item9-evidence-keyboard');
  });

  it('item 15: after a reload the consoles come back with their recent output, on the page the analyst was on', async () => {
    const id =
      (await page.getByTestId(`console-tab-${HOST}`).count()) === 1
        ? ((await page.getByTestId(`console-tab-${HOST}`).getAttribute('data-session-id')) as string)
        : await openConsoleFor(page, HOST);
    await page.getByTestId('nav-consoles').click();
    await page.getByTestId(`console-tab-${HOST}`).click();
    expect(await focused(page)).toBe(`terminal:${id}`);
    await run(page, id, `cd ${fixture}`);
    expect(await run(page, id, 'dir')).toContain(MARKER);
    await page.reload();
    await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('section-title').textContent()).toBe('Consoles');
    const tab = page.getByTestId(`console-tab-${HOST}`);
    await tab.waitFor();
    expect(await tab.getAttribute('data-session-id')).toBe(id);
    expect(await tab.getAttribute('aria-selected')).toBe('true');
    const text = await waitForPrompt(page, id);
    expect(text).toContain('restored after a reload of the page');
    expect(text).toContain(`${HOST}:${fixture}> dir`);
    expect(text).toContain(MARKER);
    expect(lastLine(text).trimEnd()).toBe(`${HOST}:${fixture}>`);
    // The console goes on where it was.
    await page.getByTestId(`console-tab-${HOST}`).click();
    expect(await run(page, id, 'cd /tmp')).toContain(`${HOST}:/tmp>`);
    await screenshots(page, 'item15-after-reload');
    // Another page is remembered too.
    await page.getByTestId('nav-log').click();
    await page.reload();
    await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('section-title').textContent()).toBe('Log');
  });
});
