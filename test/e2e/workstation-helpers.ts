/**
 * Plumbing of the workstation end-to-end tests: the browser shell as a real process with its own app
 * data folder (standalone mode: embedded service + this machine's agent), a page with the terminal test
 * hook, console helpers that type into xterm and read its buffer, and extra agents started as processes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { ROOT, screenshot, SHELL_URL_LINE, startProcess, type RunningProcess } from './helpers.js';

export const HOST = hostname();
const BIN = (name: 'lr' | 'lr-server' | 'lr-agent'): string => path.join(ROOT, 'out', 'bin', `${name}.js`);

export interface Workstation extends RunningProcess {
  readonly url: string;
  readonly dataDir: string;
  readonly serviceDir: string;
  readonly adminProfile: string;
  cleanup(): Promise<void>;
}

/** `npm run build` and the node programs (out/bin) must exist. */
export function ensureWorkstationBuilt(): void {
  const needed = [
    'out/main/browser-shell.js',
    'out/renderer/index.html',
    'out/bin/lr-agent.js',
    'out/bin/lr-server.js',
  ];
  if (needed.every((file) => existsSync(path.join(ROOT, file)))) return;
  for (const args of [
    [path.join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'],
    [path.join(ROOT, 'scripts/build-node.mjs')],
  ]) {
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`build failed: ${args.join(' ')}`);
  }
}

/** A browser shell on a fresh app data folder, or on `existingDataDir` (a restart: its state is kept). */
export async function startWorkstation(existingDataDir?: string): Promise<Workstation> {
  const dataDir = existingDataDir ?? mkdtempSync(path.join(tmpdir(), 'lr-ws-e2e-'));
  const running = startProcess([path.join(ROOT, 'out/main/browser-shell.js'), '--port', '0'], {
    ...process.env,
    LR_DATA_DIR: dataDir,
    LR_LOG_LEVEL: 'warn',
  });
  const match = await running.waitForLine(SHELL_URL_LINE);
  const serviceDir = path.join(dataDir, 'service');
  return {
    ...running,
    url: match[1] as string,
    dataDir,
    serviceDir,
    adminProfile: path.join(serviceDir, 'admin.profile.json'),
    async cleanup() {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A page with the terminal test hook, loaded, with this machine online in the inventory. */
export async function openWorkstation(
  browser: Browser,
  ws: Workstation,
  viewport = { width: 1400, height: 860 },
): Promise<Page> {
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  await page.addInitScript({ content: 'window.__lrTestHooks = true;' });
  await page.goto(ws.url);
  try {
    await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 30_000 });
    await page.locator(`[data-testid="device-row-${HOST}"][data-online="true"]`).waitFor({ timeout: 30_000 });
  } catch (e) {
    await screenshot(page, 'failed-workstation-open');
    throw new Error(`${(e as Error).message}; shell stderr: ${ws.stderr.slice(-10).join(' | ')}`, { cause: e });
  }
  return page;
}

export function runCli(name: 'lr' | 'lr-server' | 'lr-agent', args: readonly string[]): string {
  const r = spawnSync(process.execPath, [BIN(name), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Enrolls a second agent with the embedded service (an enrollment token from its data folder) and starts it. */
export async function startExtraAgent(ws: Workstation, name: string): Promise<RunningProcess & { dataDir: string }> {
  const dataDir = path.join(ws.dataDir, `extra-agent-${name}`);
  mkdirSync(dataDir, { recursive: true });
  const bundle = path.join(dataDir, 'bundle.json');
  runCli('lr-server', ['enroll-token', '--data', ws.serviceDir, '--out', bundle]);
  runCli('lr-agent', ['enroll', '--bundle', bundle, '--data', dataDir, '--name', name]);
  const agent = startProcess([BIN('lr-agent'), 'start', '--data', dataDir], { ...process.env, LR_LOG_LEVEL: 'warn' });
  await agent.waitForLine(/started/);
  return { ...agent, dataDir };
}

// ---------------------------------------------------------------------------------------------------------
// Consoles
// ---------------------------------------------------------------------------------------------------------

export async function openConsoleFor(page: Page, deviceName: string): Promise<string> {
  await page.getByTestId('nav-devices').click();
  const row = page.getByTestId(`device-row-${deviceName}`);
  await row.locator('[data-online="true"], [data-testid="device-presence"]').first().waitFor();
  await row.getByTestId('initiate-session').click();
  const tab = page.getByTestId(`console-tab-${deviceName}`);
  await tab.waitFor();
  const sessionId = await tab.getAttribute('data-session-id');
  if (!sessionId) throw new Error('tab without a session id');
  await waitForPrompt(page, sessionId);
  return sessionId;
}

/** What the renderer's test hook (src/renderer/src/console/registry.ts) offers on `window`. */
export interface TerminalHook {
  ids(): string[];
  text(sessionId: string): string;
  stats(sessionId: string): TerminalStats | undefined;
}
export interface TerminalStats {
  lines: number;
  records: number;
  /** Characters written to xterm (escape sequences included). */
  chars: number;
  running: boolean;
  cols: number;
}
type HookedGlobal = { __lrTerminals?: TerminalHook };

export function terminalText(page: Page, sessionId: string): Promise<string> {
  return page.evaluate((id) => (globalThis as HookedGlobal).__lrTerminals?.text(id) ?? '', sessionId);
}

export function terminalStats(page: Page, sessionId: string): Promise<TerminalStats | undefined> {
  return page.evaluate((id) => (globalThis as HookedGlobal).__lrTerminals?.stats(id), sessionId);
}

const PROMPT_LINE = /^[^\s:]+:[^\n]*> ?$/;

/** Waits until the console shows its prompt (nothing running, last line is the prompt). */
export async function waitForPrompt(page: Page, sessionId: string, timeoutMs = 30_000): Promise<string> {
  let text = '';
  await expect
    .poll(
      async () => {
        const stats = await terminalStats(page, sessionId);
        text = await terminalText(page, sessionId);
        const last = text.split('\n').pop() ?? '';
        return stats !== undefined && !stats.running && PROMPT_LINE.test(last);
      },
      { timeout: timeoutMs, interval: 100 },
    )
    .toBe(true);
  return text;
}

/** Focuses the tab's terminal. */
export async function focusConsole(page: Page, deviceName: string): Promise<void> {
  await page.getByTestId('nav-consoles').click();
  await page.getByTestId(`console-tab-${deviceName}`).click();
  const sessionId = await page.getByTestId(`console-tab-${deviceName}`).getAttribute('data-session-id');
  await page.locator(`[data-testid="terminal-${sessionId}"] .xterm`).click();
}

/**
 * Types a command line and Enter into the focused console and waits for the prompt to come back.
 * Returns the terminal text printed after the command line.
 */
export async function run(page: Page, sessionId: string, line: string, timeoutMs = 30_000): Promise<string> {
  const before = (await terminalText(page, sessionId)).split('\n').length;
  await page.keyboard.type(line, { delay: 0 });
  await page.keyboard.press('Enter');
  // The prompt comes back after the output (at least one new line past the command line).
  await expect
    .poll(async () => (await terminalText(page, sessionId)).split('\n').length > before, {
      timeout: timeoutMs,
      interval: 50,
    })
    .toBe(true);
  const text = await waitForPrompt(page, sessionId, timeoutMs);
  const lines = text.split('\n');
  return lines.slice(before).join('\n');
}
