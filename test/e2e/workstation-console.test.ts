/**
 * Against the browser shell as a real process in standalone mode
 * (embedded service + this machine's agent) with a second agent started by the test:
 *   1. the inventory shows this machine online; consoles on two devices side by side do not disturb each
 *      other;
 *   2. the console commands, each checked by reading the xterm buffer;
 *   6. Disconnect, confirmed, ends the session on the service; a new one opens at once.
 * A screenshot per test lands in test-results/.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, ROOT, screenshot, startProcess, type RunningProcess } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
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

const SECOND = 'second-device';
let ws: Workstation;
let browser: Browser;
let page: Page;
let agent: (RunningProcess & { dataDir?: string }) | undefined;
let fixture: string;
const sessions: Record<string, string> = {};

interface LogEntry {
  id: string;
  commandLine: string;
  status: string;
  sessionId: string | null;
  deviceName: string | null;
  output: string;
  error: string | null;
}

async function lastLine(p: Page, id: string): Promise<string> {
  return ((await terminalText(p, id)).split('\n').pop() ?? '').trimEnd();
}

function serviceLog(): LogEntry[] {
  return JSON.parse(runCli('lr', ['--profile', ws.adminProfile, 'log', '--json'])) as LogEntry[];
}

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-e2e-files-'));
  writeFileSync(path.join(fixture, 'sample-evidence.txt'), 'evidence\n');
  mkdirSync(path.join(fixture, 'nested folder'));
  writeFileSync(path.join(fixture, 'nested folder', 'needle.conf'), 'x');
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await agent?.stop();
  await ws?.cleanup();
  rmSync(fixture, { recursive: true, force: true });
});

describe('workstation consoles', () => {
  it('(1) shows this machine online; consoles on two devices work side by side', async () => {
    const row = page.getByTestId(`device-row-${HOST}`);
    expect(await row.getByTestId('device-presence').textContent()).toBe('online');

    agent = await startExtraAgent(ws, SECOND);
    await page.locator(`[data-testid="device-row-${SECOND}"][data-online="true"]`).waitFor({ timeout: 20_000 });
    await page.getByTestId('device-search').fill('second');
    expect(await page.locator('[data-testid^="device-row-"]').count()).toBe(1);
    await page.getByTestId('device-search').fill('');

    sessions[HOST] = await openConsoleFor(page, HOST);
    sessions[SECOND] = await openConsoleFor(page, SECOND);
    expect(sessions[HOST]).not.toBe(sessions[SECOND]);

    // A long command in the first tab; the second keeps answering meanwhile.
    await focusConsole(page, HOST);
    await page.keyboard.type('findfile zz-never-there -path /usr');
    await page.keyboard.press('Enter');
    await focusConsole(page, SECOND);
    const cd = await run(page, sessions[SECOND], `cd ${fixture}`);
    expect(cd).toContain(`${SECOND}:${fixture}>`);
    const dir = await run(page, sessions[SECOND], 'dir');
    expect(dir).toContain('sample-evidence.txt');
    // Nothing of the second console leaked into the first, and the first still has its own prompt and cwd.
    await waitForPrompt(page, sessions[HOST] as string, 60_000);
    const first = await terminalText(page, sessions[HOST] as string);
    expect(first).not.toContain('sample-evidence.txt');
    expect(first).toContain(`${HOST}:/> findfile zz-never-there -path /usr`);
    expect(first.split('\n').pop()).toMatch(new RegExp(`^${HOST}:/>`));
    // Header: who created the session, since when, how long.
    await focusConsole(page, HOST);
    expect(await page.getByTestId('console-created-by').textContent()).toBe('admin');
    expect(await page.getByTestId('console-duration').textContent()).toMatch(/^\d\d:\d\d:\d\d$/);
    await screenshot(page, 'workstation-1-two-consoles');
  });

  it('(2) console commands, read back from the terminal buffer', async () => {
    const id = sessions[HOST] as string;
    await focusConsole(page, HOST);

    const processes = await run(page, id, 'processes');
    expect(processes).toMatch(/pid\s+ppid\s+user\s+state/);
    expect(processes).toContain('node');

    expect(await run(page, id, 'cd /tmp')).toContain(`${HOST}:/tmp>`);
    const dir = await run(page, id, 'dir');
    expect(dir).toContain(path.basename(fixture));

    const info = await run(page, id, `fileinfo ${fixture}/sample-evidence.txt`);
    expect(info).toMatch(new RegExp(`sha256\\s+${createHash('sha256').update('evidence\n').digest('hex')}`));
    expect(info).toMatch(/size\s+9/);

    // A background findfile (long: the whole root file system), jobs, fg, then Ctrl+C.
    const started = await run(page, id, 'findfile zz-not-here-either -path / &');
    const bg = /\[([A-Za-z0-9_-]+)\] running in the background/.exec(started);
    expect(bg, started).not.toBeNull();
    const jobId = (bg as RegExpExecArray)[1] as string;
    const jobs = await run(page, id, 'jobs');
    expect(jobs).toContain(jobId);
    expect(jobs).toMatch(new RegExp(`${jobId}\\s+findfile zz-not-here-either -path / &\\s+running`));

    await page.keyboard.type(`fg ${jobId}`);
    await page.keyboard.press('Enter');
    // The job is in the foreground (the console is busy, no prompt).
    await expect.poll(async () => (await terminalStats(page, id))?.running).toBe(true);
    await page.waitForTimeout(300);
    await page.keyboard.press('Control+c');
    const afterCancel = await waitForPrompt(page, id, 30_000);
    expect(afterCancel).toContain('^C (cancelling on the device)');
    // The service recorded it as cancelled: the agent stopped the walk.
    await expect.poll(() => serviceLog().find((c) => c.id === jobId)?.status, { timeout: 15_000 }).toBe('cancelled');

    // Ctrl+Z sends a running command to the background; fg brings it back; Ctrl+C then cancels it.
    await page.keyboard.type('findfile zz-ctrl-z -path /');
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await terminalStats(page, id))?.running).toBe(true);
    await page.keyboard.press('Control+z');
    const detached = await waitForPrompt(page, id);
    const zJob = /\[([A-Za-z0-9_-]+)\] running in the background/.exec(detached.split('^Z').pop() ?? '');
    expect(zJob, detached.slice(-400)).not.toBeNull();
    await page.keyboard.type(`fg ${(zJob as RegExpExecArray)[1]}`);
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await terminalStats(page, id))?.running).toBe(true);
    await page.keyboard.press('Control+c');
    await waitForPrompt(page, id);
    await expect
      .poll(() => serviceLog().find((c) => c.id === (zJob as RegExpExecArray)[1])?.status, { timeout: 15_000 })
      .toBe('cancelled');

    // getfile from the console: verified, then stored as evidence of the active case under its SHA-256.
    const got = await run(page, id, `getfile ${fixture}/sample-evidence.txt`);
    const sha256 = createHash('sha256').update('evidence\n').digest('hex');
    expect(got).toContain(`stored as evidence sample-evidence.txt (9 bytes, sha256 ${sha256}) in the active case`);
    expect(readFileSync(path.join(ws.dataDir, 'cases', 'evidence', sha256.slice(0, 2), sha256), 'utf8')).toBe(
      'evidence\n',
    );

    const help = await run(page, id, 'help getfile');
    expect(help).toContain('getfile — ');
    expect(help).toContain('usage: getfile <path> [-auto]');

    // Tab completion of a remote path (listed with a quiet `dir ... -output json`).
    await page.keyboard.type(`fileinfo ${fixture}/sam`);
    await page.keyboard.press('Tab');
    await expect.poll(async () => lastLine(page, id)).toBe(`${HOST}:/tmp> fileinfo ${fixture}/sample-evidence.txt`);
    await page.keyboard.press('Control+u');
    await page.keyboard.type(`dir ${fixture}/nes`);
    await page.keyboard.press('Tab');
    await expect.poll(async () => lastLine(page, id)).toBe(`${HOST}:/tmp> dir "${fixture}/nested folder/"`);
    await page.keyboard.press('Enter');
    await waitForPrompt(page, id);
    expect(await terminalText(page, id)).toContain('needle.conf');
    // Completion of command names and flags.
    await page.keyboard.type('filei');
    await page.keyboard.press('Tab');
    await expect.poll(async () => lastLine(page, id)).toBe(`${HOST}:/tmp> fileinfo`);
    await page.keyboard.press('Control+u');

    // History: ↑ brings back the last command.
    await page.keyboard.press('ArrowUp');
    await expect.poll(async () => lastLine(page, id)).toBe(`${HOST}:/tmp> dir "${fixture}/nested folder/"`);
    await page.keyboard.press('Control+u');

    // Line editing: Home, typing, End, Ctrl+W.
    await page.keyboard.type('ir /tm');
    await page.keyboard.press('Home');
    await page.keyboard.type('d');
    await page.keyboard.press('End');
    await page.keyboard.type('p extra');
    await page.keyboard.press('Control+w');
    await expect.poll(async () => lastLine(page, id)).toBe(`${HOST}:/tmp> dir /tmp`);
    await page.keyboard.press('Control+u');

    // `> name.txt` saves instead of showing.
    const saved = await run(page, id, 'processes > procs.txt');
    expect(saved).toMatch(/output of procs\.txt: stored as evidence procs\.txt \(\d+ bytes, sha256 [0-9a-f]{64}\)/);

    await screenshot(page, 'workstation-2-console-commands');
    // cls clears the screen.
    await page.keyboard.type('cls');
    await page.keyboard.press('Enter');
    await expect
      .poll(
        async () =>
          (await terminalText(page, id))
            .trim()
            .split('\n')
            .filter((l) => l.trim() !== '').length,
      )
      .toBe(1);
  });

  it('(4) the command log holds every command of the console test, with its status; filters, search and CSV export work', async () => {
    const id = sessions[HOST] as string;
    const expected = serviceLog().filter((c) => c.sessionId === id);
    // What the analyst typed in (2), with the status each must have.
    const typed: [string, string][] = [
      ['processes', 'completed'],
      ['cd /tmp', 'completed'],
      ['dir', 'completed'],
      [`fileinfo ${fixture}/sample-evidence.txt`, 'completed'],
      ['findfile zz-not-here-either -path / &', 'cancelled'],
      ['jobs', 'completed'],
      ['help getfile', 'completed'],
      [`dir "${fixture}/nested folder/"`, 'completed'],
      ['processes > procs.txt', 'completed'],
    ];
    for (const [line, status] of typed) {
      expect(expected.find((c) => c.commandLine === line)?.status, line).toBe(status);
    }

    await page.getByTestId('nav-log').click();
    const list = page.getByTestId('log-list');
    await page.locator('[data-testid="log-list"][data-ready="true"]').waitFor();
    const total = Number(await list.getAttribute('data-total'));
    expect(total).toBe(serviceLog().length);

    // Search (command lines, errors and output: jobs and status list the findfile too): the cancelled
    // findfile, and its details in the side panel.
    await page.getByTestId('log-search').fill('zz-not-here-either');
    const mentions = serviceLog().filter((c) =>
      [c.commandLine, c.output, c.error ?? ''].some((text) => text.includes('zz-not-here-either')),
    );
    await expect.poll(async () => list.getAttribute('data-total')).toBe(String(mentions.length));
    const row = page.locator('[data-testid="log-row"][data-status="cancelled"]');
    expect(await row.count()).toBe(1);
    await row.click();
    await page.getByTestId('log-detail-input').waitFor();
    expect(await page.getByTestId('log-detail-input').textContent()).toBe('findfile zz-not-here-either -path / &');

    // Filters: status, device, user.
    await page.getByTestId('log-search').fill('');
    await page.getByTestId('log-filter-status').selectOption('cancelled');
    await expect
      .poll(async () => list.getAttribute('data-total'))
      .toBe(String(serviceLog().filter((c) => c.status === 'cancelled').length));
    await page.getByTestId('log-filter-status').selectOption('');
    await page.getByTestId('log-filter-device').selectOption({ label: SECOND });
    await expect
      .poll(async () => list.getAttribute('data-total'))
      .toBe(String(serviceLog().filter((c) => c.deviceName === SECOND).length));
    await page.getByTestId('log-filter-device').selectOption('');
    await page.getByTestId('log-filter-user').selectOption('admin');
    await expect.poll(async () => list.getAttribute('data-total')).toBe(String(total));
    await page.getByTestId('log-filter-user').selectOption('');
    await screenshot(page, 'workstation-4-command-log');

    // CSV export: one line per command (plus the header).
    const download = page.waitForEvent('download');
    await page.getByTestId('log-export-csv').click();
    const file = await (await download).path();
    const csv = readFileSync(file, 'utf8').trimEnd().split('\r\n');
    expect(csv[0]).toMatch(/^id,startedAt,/);
    expect(csv.length - 1).toBe(total);
    for (const entry of expected)
      expect(
        csv.some((line) => line.startsWith(`${entry.id},`)),
        entry.commandLine,
      ).toBe(true);
  });

  it('shows when a device goes offline, and resumes when it is back', async () => {
    await focusConsole(page, SECOND);
    const id = sessions[SECOND] as string;
    await agent?.stop();
    await page.getByTestId('offline-banner').waitFor({ timeout: 20_000 });
    expect(await terminalText(page, id)).toContain('the device went offline');
    await screenshot(page, 'workstation-device-offline');
    const agentDir = agent?.dataDir as string;
    agent = {
      ...startProcess([path.join(ROOT, 'out/bin/lr-agent.js'), 'start', '--data', agentDir], {
        ...process.env,
        LR_LOG_LEVEL: 'warn',
      }),
      dataDir: agentDir,
    };
    await page.getByTestId('offline-banner').waitFor({ state: 'detached', timeout: 20_000 });
    expect(await terminalText(page, id)).toContain('the device is back online');
    const out = await run(page, id, 'cd /');
    expect(out).toContain(`${SECOND}:/>`);
  });

  it('(6) Disconnect, confirmed, ends the session on the service (the tab stays until closed); a new one opens at once', async () => {
    const old = sessions[SECOND] as string;
    await focusConsole(page, SECOND);
    await page.getByTestId('console-disconnect').click();
    await page.getByTestId('disconnect-dialog').waitFor();
    await screenshot(page, 'workstation-6-disconnect-dialog');
    // Cancel first: nothing happens.
    await page.getByTestId('disconnect-dialog-cancel').click();
    expect(await page.getByTestId(`console-tab-${SECOND}`).count()).toBe(1);
    await page.getByTestId('console-disconnect').click();
    await page.getByTestId('disconnect-dialog-confirm').click();
    // The tab stays, read-only, with its output, until the analyst closes it.
    await page.getByTestId('closed-banner').waitFor();
    await page.getByTestId('console-close-tab').click();
    await page.getByTestId(`console-tab-${SECOND}`).waitFor({ state: 'detached' });
    // The service ended it (its sessions table says so).
    const db = new Database(path.join(ws.serviceDir, 'lr.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT ended_at, end_reason FROM sessions WHERE id = ?').get(old) as {
        ended_at: string | null;
        end_reason: string | null;
      };
      expect(row.ended_at).not.toBeNull();
      expect(row.end_reason).toBe('closed by admin');
    } finally {
      db.close();
    }
    // One session per device: a new one opens at once.
    const fresh = await openConsoleFor(page, SECOND);
    expect(fresh).not.toBe(old);
    const out = await run(page, fresh, 'cd /');
    expect(out).toContain(`${SECOND}:/>`);
    await screenshot(page, 'workstation-6-new-session');
  });
});
