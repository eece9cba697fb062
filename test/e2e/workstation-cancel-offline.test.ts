/**
 * Against the browser shell as a real process (embedded service) in Chromium, with
 * a second agent started as a process the test kills:
 *   1. a getfile whose device dies mid-transfer: Ctrl+Z says it is refused, Ctrl+C gives the prompt back at
 *      once, the console takes keystrokes again, and when the agent comes back nothing runs under the
 *      analyst's name (no resumed getfile in the command log, no evidence, no bytes written);
 *   7. re-running that getfile says it resumes (MiB and %) and how to start from zero; Ctrl+C during the
 *      progress bar starts a fresh line; `jobs` shows running jobs by default, every command with -all,
 *      never completion probes; `status ID` prints output as lines; `fg` of a getfile shows its progress.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, ROOT, screenshot, startProcess, type RunningProcess } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
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

const DEVICE = 'cancel-device';
const BIG_BYTES = 1024 * 1024 * 1024;
let ws: Workstation;
let browser: Browser;
let page: Page;
let agent: (RunningProcess & { dataDir: string }) | undefined;
let fixture: string;
let big: string;

interface LogEntry {
  id: string;
  commandLine: string;
  status: string;
  deviceName: string | null;
  internal?: boolean;
}

function serviceLog(): LogEntry[] {
  return JSON.parse(runCli('lr', ['--profile', ws.adminProfile, 'log', '--json'])) as LogEntry[];
}

function deviceLog(): LogEntry[] {
  return serviceLog().filter((c) => c.deviceName === DEVICE);
}

function partSize(): number {
  const part = path.join(ws.dataDir, 'downloads', 'big.bin.part');
  return existsSync(part) ? statSync(part).size : -1;
}

function evidenceFiles(): string[] {
  const root = path.join(ws.dataDir, 'cases', 'evidence');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

async function tail(p: Page, id: string, chars = 2000): Promise<string> {
  return (await terminalText(p, id)).slice(-chars);
}

/** The same view at 1400 and 1024 px wide (the terminal refits in between). */
async function screenshots(p: Page, name: string): Promise<void> {
  await screenshot(p, `${name}-1400`);
  await p.setViewportSize({ width: 1024, height: 768 });
  await p.waitForTimeout(300);
  await screenshot(p, `${name}-1024`);
  await p.setViewportSize({ width: 1400, height: 860 });
  await p.waitForTimeout(300);
}

function restartAgent(dataDir: string): RunningProcess & { dataDir: string } {
  const started = startProcess([path.join(ROOT, 'out', 'bin', 'lr-agent.js'), 'start', '--data', dataDir], {
    ...process.env,
    LR_LOG_LEVEL: 'warn',
  });
  return { ...started, dataDir };
}

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-e2e-cancel-'));
  big = path.join(fixture, 'big.bin');
  // 1 GiB of real bytes (the agent refuses sparse files): big enough to kill the agent mid-transfer.
  const chunk = randomBytes(1024 * 1024);
  const fd = openSync(big, 'w');
  for (let i = 0; i < BIG_BYTES / chunk.length; i += 1) writeSync(fd, chunk);
  closeSync(fd);
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
  agent = await startExtraAgent(ws, DEVICE);
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await agent?.stop();
  await ws?.cleanup();
  rmSync(fixture, { recursive: true, force: true });
});

describe('workstation: cancelling while the device is offline', () => {
  it('item 1: a getfile cancelled while its device is offline ends at once and never resumes by itself', async () => {
    const id = await openConsoleFor(page, DEVICE);
    await focusConsole(page, DEVICE);
    const evidenceBefore = evidenceFiles();

    await page.keyboard.type(`getfile ${big}`);
    await page.keyboard.press('Enter');
    // Mid-transfer: some bytes on disk, far from the end.
    await expect
      .poll(partSize, { timeout: 30_000, interval: 20 })
      .toBeGreaterThan(8 * 1024 * 1024)
      .catch(async (e: Error) => {
        throw new Error(`${e.message}; terminal: ${JSON.stringify(await tail(page, id, 800))}`);
      });
    agent?.child.kill('SIGKILL');
    await new Promise((resolve) => agent?.child.once('exit', resolve));
    const dataDir = (agent as { dataDir: string }).dataDir;

    // The console says the device is gone, what Ctrl+C and Ctrl+Z do, and waits (still busy).
    await expect
      .poll(() => tail(page, id), { timeout: 30_000, interval: 100 })
      .toMatch(/waiting for it to come back to resume/);
    const offline = await tail(page, id);
    expect(offline).toContain(
      'while the device is offline: Ctrl+C cancels this command here at once (nothing more is sent to the device); Ctrl+Z is refused',
    );
    expect(offline).toMatch(/the device went offline at \d+(\.\d)? MiB of 1\.0 GiB \(\d+ %\)/);
    expect((await terminalStats(page, id))?.running).toBe(true);

    // Ctrl+Z: refused, with the reason; the command is still there for Ctrl+C.
    await page.keyboard.press('Control+z');
    await expect
      .poll(() => tail(page, id), { timeout: 5_000, interval: 50 })
      .toContain(
        'Ctrl+Z refused: the device is offline, nothing runs on it to send to the background; Ctrl+C cancels here',
      );
    expect(await tail(page, id)).not.toMatch(/\bfailed\b(?!.*went offline)/);
    expect((await terminalStats(page, id))?.running).toBe(true);
    const bytesAtCancel = partSize();

    // Ctrl+C: the prompt is back at once, with one clear line.
    const pressed = Date.now();
    await page.keyboard.press('Control+c');
    const afterCancel = await waitForPrompt(page, id, 3_000);
    const promptMs = Date.now() - pressed;
    const lines = afterCancel.split('\n');
    const cancelLine = lines.find((l) => l.startsWith('cancelled here while the device is offline'));
    expect(cancelLine, afterCancel.slice(-1500)).toBe(
      `cancelled here while the device is offline: nothing more is sent to it; getfile ${big} again resumes the partial download, -restart starts from zero`,
    );
    expect(afterCancel).not.toContain('^C (cancelling on the device)');
    await screenshots(page, 'item1-cancelled-offline');

    // Keystrokes are taken again: typed text shows on the prompt line, and a service command runs.
    await page.keyboard.type('abc');
    await expect
      .poll(async () => (await terminalText(page, id)).split('\n').pop()?.trimEnd(), { timeout: 5_000 })
      .toMatch(/> abc$/);
    await page.keyboard.press('Control+c');
    await waitForPrompt(page, id, 5_000);
    expect(await run(page, id, 'help jobs')).toContain('jobs — ');

    // The agent comes back (same data folder): nothing resumes under the analyst's name.
    agent = restartAgent(dataDir);
    await agent.waitForLine(/started/);
    await expect.poll(() => tail(page, id), { timeout: 30_000, interval: 200 }).toContain('the device is back online');
    await page.waitForTimeout(8_000);
    const getfiles = deviceLog().filter((c) => c.commandLine.startsWith('getfile'));
    expect(getfiles.map((c) => c.commandLine)).toEqual([`getfile ${big}`]);
    expect(getfiles[0]?.status).toBe('failed');
    expect(deviceLog().some((c) => c.commandLine.includes('-offset'))).toBe(false);
    expect(evidenceFiles()).toEqual(evidenceBefore);
    // No transfer either: the partial file is as it was when Ctrl+C was pressed (kept for a later resume).
    expect(partSize()).toBe(bytesAtCancel);
    expect(await tail(page, id, 600)).not.toMatch(/resuming|stored as evidence/);
    console.log(`item 1: prompt back ${promptMs} ms after Ctrl+C; ${bytesAtCancel} bytes kept`);
  });

  it('item 7: resume said in MiB and %, -restart, jobs, fg of a getfile, status as lines, Ctrl+C on a progress bar', async () => {
    const id = await openConsoleFor(page, DEVICE);
    await focusConsole(page, DEVICE);
    const kept = partSize();
    expect(kept).toBeGreaterThan(0);

    // Re-running the cancelled getfile resumes, and says so (and how to start from zero).
    await page.keyboard.type(`getfile ${big}`);
    await page.keyboard.press('Enter');
    await expect
      .poll(() => tail(page, id), { timeout: 15_000, interval: 50 })
      .toMatch(
        /resuming .* at byte \d+: \d+(\.\d)? MiB of 1\.0 GiB \(\d+ %\), kept from an earlier download; getfile \S+ -restart starts from zero/,
      );
    // Ctrl+C while the progress bar is drawn: ^C starts its own line.
    await expect.poll(partSize, { timeout: 30_000, interval: 20 }).toBeGreaterThan(kept + 4 * 1024 * 1024);
    await page.keyboard.press('Control+c');
    const cancelled = await waitForPrompt(page, id, 30_000);
    const lines = cancelled.slice(cancelled.lastIndexOf('resuming ')).split('\n');
    const ctrlC = lines.findIndex((l) => l.includes('^C'));
    // The progress bar stays whole on its line, ^C on the next, then one clean line saying what is kept.
    expect(lines[ctrlC], lines.join('\n')).toBe('^C (cancelling on the device)');
    expect(lines[ctrlC - 1]).toMatch(/\d+%\s+\d+(\.\d)? MiB \/ 1\.0 GiB/);
    expect(lines[ctrlC + 1]).toMatch(
      /^cancelled by the analyst; the partial file \(\d+(\.\d)? MiB of 1\.0 GiB \(\d+ %\)\) is kept: getfile again resumes it, -restart starts from zero$/,
    );
    expect(cancelled).not.toMatch(/getfile[^\n]*: getfile:/);
    await screenshots(page, 'item7-ctrl-c-progress');
    console.log(`item 7 cancel lines: ${JSON.stringify(lines.slice(ctrlC - 1, ctrlC + 3))}`);

    // A completion probe (Tab on a path) is logged, flagged internal, and never listed by jobs.
    await page.keyboard.type(`dir ${fixture}/bi`);
    await page.keyboard.press('Tab');
    await expect
      .poll(async () => (await terminalText(page, id)).split('\n').pop()?.trimEnd(), { timeout: 15_000 })
      .toBe(`${DEVICE}:/> dir ${big}`);
    await page.keyboard.press('Control+c');
    await waitForPrompt(page, id);
    const probe = serviceLog().find((c) => c.commandLine === `dir ${fixture}/ -output json`);
    expect(probe?.internal).toBe(true);

    // -restart: the partial download is discarded, from zero, in the background.
    const bg = await run(page, id, `getfile ${big} -restart &`);
    const bgId = /\[([A-Za-z0-9_-]+)\] running in the background/.exec(bg)?.[1];
    expect(bgId, bg).toBeDefined();
    expect(bg).toMatch(
      /discarding the partial download \(\d+(\.\d)? MiB of 1\.0 GiB \(\d+ %\)\) and starting from zero/,
    );
    expect(deviceLog().find((c) => c.id === bgId)?.commandLine).toBe(`getfile ${big} &`);

    // jobs: the running job only, a human duration; -all: every command, never the probe.
    const jobs = await run(page, id, 'jobs');
    console.log(`item 7 jobs:\n${jobs}`);
    expect(jobs).toMatch(new RegExp(`${bgId}\\s+getfile ${big} &\\s+running\\s+.+\\s\\d+(\\.\\d)? (ms|s)\\n`));
    expect(jobs.split('\n').filter((l) => /^[a-z0-9]{10}\s/.test(l))).toHaveLength(1);
    expect(jobs).not.toContain('dir ');
    expect(jobs).not.toContain('cancelled');
    const all = await run(page, id, 'jobs -all');
    console.log(`item 7 jobs -all:\n${all}`);
    expect(all).toContain('cancelled');
    expect(all).not.toContain('-output json');
    expect(all).not.toMatch(/durationMs/);

    // fg of the getfile: its progress bar, not a table.
    await page.keyboard.type(`fg ${bgId}`);
    await page.keyboard.press('Enter');
    await expect
      .poll(() => tail(page, id, 300), { timeout: 15_000, interval: 50 })
      .toMatch(/\d+%\s+\d+(\.\d)? MiB \/ 1\.0 GiB[^\n]*$/);
    const fgText = await tail(page, id, 1000);
    expect(fgText.slice(fgText.lastIndexOf(`fg ${bgId}`))).not.toMatch(/sha256|savedAs/);
    await screenshots(page, 'item7-fg-progress');
    await page.keyboard.press('Control+c');
    await waitForPrompt(page, id, 30_000);
    await expect.poll(() => deviceLog().find((c) => c.id === bgId)?.status, { timeout: 15_000 }).toBe('cancelled');
    // The download was not restarted by fg (a replayed file record is not a new transfer).
    expect(deviceLog().filter((c) => c.commandLine.startsWith('getfile')).length).toBe(3);

    // status ID: the command's output as lines.
    const help = await run(page, id, 'help jobs');
    expect(help).toContain('usage: jobs [-all]');
    const helpId = deviceLog().find((c) => c.commandLine === 'help jobs' && c.status === 'completed')?.id as string;
    const status = await run(page, id, `status ${helpId}`);
    console.log(`item 7 status:\n${status}`);
    expect(status).not.toContain('\\x0a');
    expect(status.split('\n').some((l) => l.startsWith('usage: jobs [-all]'))).toBe(true);
    expect(status).toMatch(/started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+\d+(\.\d)? (ms|s)/);
    await screenshots(page, 'item7-jobs-status');
  });
});
