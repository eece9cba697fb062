/**
 * In the browser shell (standalone: embedded service + this machine's agent, as root):
 * `remediate`, `isolate` and `release` ask y/N first, showing the target as the device sees it (a file's
 * path, size and SHA-256; a process's pid, name and command line; the device and its network). Only `y`
 * runs the command; `n`, Enter alone and Ctrl+C leave the device untouched and the command log without
 * the action. `remediate file /etc/passwd`, even answered `y`, is refused by the agent's deny-list and
 * /etc/passwd keeps its bytes. Screenshots of the question at 1400 and 1024 px land in test-results/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  terminalStats,
  terminalText,
  waitForPrompt,
  type Workstation,
} from './workstation-helpers.js';

let ws: Workstation;
let browser: Browser;
let page: Page;
let fixture: string;
let sleeper: ChildProcess | undefined;
let sessionId: string;

interface LogEntry {
  commandLine: string;
  status: string;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const QUESTION = /run it\? \[y\/N\] ?$/;

/** Log entries of the service whose command line starts with `prefix`. */
function logged(prefix: string): LogEntry[] {
  return (JSON.parse(runCli('lr', ['--profile', ws.adminProfile, 'log', '--json'])) as LogEntry[]).filter((e) =>
    e.commandLine.startsWith(prefix),
  );
}

/** Types `line` and Enter, waits for the y/N question; returns the text printed after the line. */
async function ask(line: string): Promise<string> {
  const before = (await terminalText(page, sessionId)).split('\n').length;
  await page.keyboard.type(line, { delay: 0 });
  await page.keyboard.press('Enter');
  let text = '';
  await expect
    .poll(
      async () => {
        text = await terminalText(page, sessionId);
        const stats = await terminalStats(page, sessionId);
        return stats !== undefined && !stats.running && QUESTION.test(text.split('\n').pop() ?? '');
      },
      { timeout: 60_000, interval: 100 },
    )
    .toBe(true);
  return text.split('\n').slice(before).join('\n');
}

/** Answers the question with `keys` (typed text then Enter, or a key such as Control+c); returns what followed. */
async function answer(keys: { type?: string; press: string }): Promise<string> {
  const before = (await terminalText(page, sessionId)).split('\n').length;
  if (keys.type) await page.keyboard.type(keys.type, { delay: 0 });
  await page.keyboard.press(keys.press);
  await expect
    .poll(async () => (await terminalText(page, sessionId)).split('\n').length > before, {
      timeout: 60_000,
      interval: 50,
    })
    .toBe(true);
  const text = await waitForPrompt(page, sessionId, 60_000);
  return text
    .split('\n')
    .slice(before - 1)
    .join('\n');
}

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-e2e-confirm-'));
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
});

afterAll(async () => {
  sleeper?.kill('SIGKILL');
  await page?.close();
  await browser?.close();
  await ws?.cleanup();
  rmSync(fixture, { recursive: true, force: true });
});

describe('workstation: y/N before a response action', () => {
  it('item 3: remediate file shows path, size and SHA-256; n, Enter and Ctrl+C do nothing; y quarantines', async () => {
    const planted = path.join(fixture, 'dropper.bin');
    writeFileSync(planted, Buffer.alloc(5000, 0x41));
    const hash = sha256(planted);
    sessionId = await openConsoleFor(page, HOST);
    await focusConsole(page, HOST);

    const question = await ask(`remediate file ${planted}`);
    expect(question).toContain(`remediate file ${planted} on ${HOST}:`);
    expect(question).toMatch(new RegExp(`path +${planted}`));
    expect(question).toMatch(/size +5000 bytes \(4\.9 KiB\)/);
    expect(question).toMatch(new RegExp(`sha256 +${hash}`));
    expect(question).toContain("moved into the agent's quarantine");
    await screenshot(page, 'item3-remediate-question-1400');
    await page.setViewportSize({ width: 1024, height: 768 });
    await screenshot(page, 'item3-remediate-question-1024');
    await page.setViewportSize({ width: 1400, height: 860 });

    const no = await answer({ type: 'n', press: 'Enter' });
    expect(no).toContain(`answered "n": remediate file ${planted} was not run, nothing was done on ${HOST}`);
    expect(sha256(planted)).toBe(hash);

    await ask(`remediate file ${planted}`);
    expect(await answer({ press: 'Enter' })).toContain(
      `answered no: remediate file ${planted} was not run, nothing was done`,
    );
    await ask(`remediate file ${planted}`);
    expect(await answer({ type: 'yes please', press: 'Enter' })).toContain('was not run, nothing was done');
    await ask(`remediate file ${planted}`);
    const interrupted = await answer({ press: 'Control+c' });
    expect(interrupted).toContain('^C');
    expect(interrupted).toContain(`answered no: remediate file ${planted} was not run, nothing was done`);
    expect(sha256(planted)).toBe(hash);
    expect(logged('remediate')).toEqual([]);
    // The answers are not commands: the history holds the remediate lines only, the log no `n`.
    expect(logged('n')).toEqual([]);

    await ask(`remediate file ${planted}`);
    const yes = await answer({ type: 'y', press: 'Enter' });
    expect(yes).toContain('remediated');
    expect(existsSync(planted)).toBe(false);
    // What ran is pinned to the file shown: a file swapped before the answer would have been refused.
    expect(logged('remediate').map((e) => `${e.commandLine} ${e.status}`)).toEqual([
      `remediate file ${planted} -sha256 ${hash} completed`,
    ]);
    // The console is a normal console again.
    expect(await run(page, sessionId, 'cd /')).not.toContain('y/N');
    await screenshot(page, 'item3-remediate-answered-1400');
  });

  it('item 3: remediate file /etc/passwd, even answered y, is refused by the deny-list and keeps its bytes', async () => {
    const before = sha256('/etc/passwd');
    const question = await ask('remediate file /etc/passwd');
    expect(question).toMatch(new RegExp(`sha256 +${before}`));
    const refused = await answer({ type: 'y', press: 'Enter' });
    expect(refused).toContain(
      'remediate: /etc/passwd is a system-critical file (account database): remediate refuses it without -force',
    );
    expect(sha256('/etc/passwd')).toBe(before);
    expect(logged('remediate file /etc/passwd').map((e) => e.status)).toEqual(['refused']);
    await screenshot(page, 'item3-remediate-passwd-refused-1400');
  });

  it('item 3: remediate process shows pid, name and command line; isolate and release say what happens to the network', async () => {
    sleeper = spawn('sleep', ['613'], { stdio: 'ignore' });
    const pid = sleeper.pid as number;
    const question = await ask(`remediate process ${pid}`);
    expect(question).toMatch(new RegExp(`pid +${pid} +sleep`));
    expect(question).toMatch(/command +sleep 613/);
    await answer({ type: 'n', press: 'Enter' });
    expect(sleeper.exitCode === null && sleeper.signalCode === null).toBe(true);

    const isolate = await ask('isolate');
    expect(isolate).toContain(
      `${HOST} is cut off the network: every connection except to the live response service is dropped until release`,
    );
    await screenshot(page, 'item3-isolate-question-1400');
    expect(await answer({ type: 'no', press: 'Enter' })).toContain(
      `answered "no": isolate was not run, nothing was done on ${HOST}`,
    );
    const release = await ask('release');
    expect(release).toContain(`${HOST} is released from isolation`);
    await answer({ press: 'Enter' });
    expect(logged('isolate')).toEqual([]);
    expect(logged('release')).toEqual([]);
    expect(logged('remediate process')).toEqual([]);
    // Lines that change nothing are not asked about.
    expect(await run(page, sessionId, 'remediate list')).not.toContain('y/N');
  });
});
