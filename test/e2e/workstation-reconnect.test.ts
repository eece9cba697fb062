/**
 * The workstation half: after a session closes (here the service's idle timeout, set
 * short), the console tab stays with its scrollback and says what happened; `connect` typed in that tab
 * opens a new session on the same device, keeps the command history and goes back to the same folder
 * with a real `cd`. Against the browser shell as a real process (embedded service + this machine's agent)
 * in Chromium.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  runCli,
  startWorkstation,
  terminalText,
  waitForPrompt,
  type Workstation,
} from './workstation-helpers.js';

let ws: Workstation;
let browser: Browser;
let page: Page;
let folder: string;

function setIdleTimeout(seconds: number): void {
  runCli('lr', ['--profile', ws.adminProfile, 'settings', 'set', 'limits.idleTimeoutSec', String(seconds)]);
}

interface SessionRow {
  id: string;
  ended_at: string | null;
  end_reason: string | null;
}

function sessionRows(): SessionRow[] {
  const db = new Database(path.join(ws.serviceDir, 'lr.db'), { readonly: true });
  try {
    return db.prepare('SELECT id, ended_at, end_reason FROM sessions ORDER BY started_at').all() as SessionRow[];
  } finally {
    db.close();
  }
}

interface CommandRow {
  session_id: string;
  command_line: string;
  status: string;
}

function commandsOf(sessionId: string): CommandRow[] {
  const db = new Database(path.join(ws.serviceDir, 'lr.db'), { readonly: true });
  try {
    return db
      .prepare('SELECT session_id, command_line, status FROM commands WHERE session_id = ? ORDER BY seq')
      .all(sessionId) as CommandRow[];
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  ensureWorkstationBuilt();
  folder = mkdtempSync(path.join(tmpdir(), 'lr-e2e-reconnect '));
  writeFileSync(path.join(folder, 'before-the-close.txt'), 'x\n');
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await ws?.cleanup();
  rmSync(folder, { recursive: true, force: true });
});

describe('workstation console after a close', () => {
  it('keeps the tab; connect opens a new session on the device, in the same folder, with scrollback and history', async () => {
    const tabId = await openConsoleFor(page, HOST);
    await focusConsole(page, HOST);
    const cd = await run(page, tabId, `cd "${folder}"`);
    expect(cd).toContain(`${HOST}:${folder}>`);
    const listed = await run(page, tabId, 'dir');
    expect(listed).toContain('before-the-close.txt');
    const first = sessionRows().find((s) => s.id === tabId);
    expect(first?.ended_at).toBeNull();

    // The service closes the idle session.
    setIdleTimeout(2);
    await expect
      .poll(async () => terminalText(page, tabId), { timeout: 30_000, interval: 200 })
      .toMatch(/session closed: idle for 2 s/);
    setIdleTimeout(900);
    await waitForPrompt(page, tabId);
    const closedText = await terminalText(page, tabId);
    expect(closedText).toContain(`type connect to open a new session on ${HOST}`);
    // The tab is still there with its scrollback, and says why it ended.
    expect(await page.getByTestId(`console-tab-${HOST}`).getAttribute('data-session-id')).toBe(tabId);
    expect(closedText).toContain('before-the-close.txt');
    expect(await page.getByTestId('closed-banner').textContent()).toContain('idle for 2 s');
    await screenshot(page, 'workstation-reconnect-closed');

    // Anything but connect is refused, saying why (and nothing is sent to the service).
    const refused = await run(page, tabId, 'processes');
    expect(refused).toContain(`not sent: this session is closed (idle for 2 s`);
    expect(refused).toContain(`Type connect to open a new session on ${HOST}, or close the tab.`);

    // A connect the service refuses says why in one line; the tab stays as it was.
    runCli('lr', ['--profile', ws.adminProfile, 'settings', 'set', 'liveResponse', 'off']);
    const failed = await run(page, tabId, 'connect');
    expect(failed.split('\n')[0]).toBe(
      'connect: live response is turned off for this tenant (an admin can turn it on: lr settings set liveResponse on)',
    );
    expect(await page.getByTestId('closed-banner').count()).toBe(1);
    runCli('lr', ['--profile', ws.adminProfile, 'settings', 'set', 'liveResponse', 'on']);

    writeFileSync(path.join(folder, 'after-the-close.txt'), 'y\n');
    const connected = await run(page, tabId, 'connect');
    expect(connected).toMatch(new RegExp(`Connected to ${HOST}, session \\S+ opened by`));
    // Back in the same folder: the prompt shows it.
    expect(connected.split('\n').pop()?.trimEnd()).toBe(`${HOST}:${folder}>`);
    expect(await page.getByTestId('closed-banner').count()).toBe(0);

    const again = await run(page, tabId, 'dir');
    expect(again).toContain('before-the-close.txt');
    expect(again).toContain('after-the-close.txt');
    // Scrollback kept: the first session's output is still in the terminal.
    const all = await terminalText(page, tabId);
    expect(all.indexOf('session closed: idle')).toBeGreaterThan(all.indexOf('before-the-close.txt'));

    // A new session on the service, in which the folder change was a real cd and dir ran.
    const rows = sessionRows();
    expect(rows.find((s) => s.id === tabId)?.end_reason).toMatch(/idle/);
    const second = rows.find((s) => s.id !== tabId);
    expect(second?.ended_at).toBeNull();
    const commands = commandsOf(second?.id as string).map((c) => `${c.command_line} ${c.status}`);
    expect(commands).toEqual([`cd "${folder}" completed`, 'dir completed']);

    // History kept: Up shows the last lines typed in this tab, across the close.
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await expect
      .poll(async () => (await terminalText(page, tabId)).split('\n').pop())
      .toBe(`${HOST}:${folder}> connect`);
    await screenshot(page, 'workstation-reconnect-connected');

    // Disconnect ends the new session (the tab's current one); the tab stays until the analyst closes it.
    await page.getByTestId('console-disconnect').click();
    await page.getByTestId('disconnect-dialog-confirm').click();
    await page.getByTestId('closed-banner').waitFor();
    await page.getByTestId('console-close-tab').click();
    await page.getByTestId(`console-tab-${HOST}`).waitFor({ state: 'detached' });
    expect(sessionRows().find((s) => s.id === second?.id)?.ended_at).not.toBeNull();
  });
});
