/**
 * A Windows device in the workstation: a real Windows agent (Node.js for Windows under Wine) enrolled with the
 * workstation's embedded service shows in the inventory with its OS; a console tab on it runs `registry` and
 * `persistence`, rendered as tables. Screenshots land in test-results/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeNeeds } from '../needs.js';
import {
  addWindowsAgent,
  createWinePrefix,
  windowsRuntime,
  wineProblem,
  type WindowsAgent,
  type WinePrefix,
} from '../integration/wine.js';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
  openConsoleFor,
  openWorkstation,
  run,
  runCli,
  startWorkstation,
  type Workstation,
} from './workstation-helpers.js';
import { it } from 'vitest';

const WINDEV = 'windev';
let ws: Workstation;
let browser: Browser;
let page: Page;
let prefix: WinePrefix | undefined;
let agent: WindowsAgent | undefined;

describeNeeds(wineProblem())('a Windows device in the workstation', () => {
  beforeAll(async () => {
    ensureWorkstationBuilt();
    const nodeExe = await windowsRuntime();
    ws = await startWorkstation();
    const dir = path.join(ws.dataDir, 'windows');
    mkdirSync(dir, { recursive: true });
    prefix = await createWinePrefix(dir);
    const devices = async () =>
      JSON.parse(runCli('lr', ['--profile', ws.adminProfile, 'devices', '--json'])) as {
        id: string;
        name: string;
        online: boolean;
      }[];
    agent = await addWindowsAgent({ dir, dataDir: ws.serviceDir, devices }, prefix, nodeExe, WINDEV);
    // a planted Run value for persistence to find
    const planted = await prefix.exec('reg', [
      'add',
      'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
      '/v',
      'Updater',
      '/t',
      'REG_SZ',
      '/d',
      'C:\\Users\\Public\\dropper.exe -q',
      '/f',
    ]);
    if (planted.code !== 0) throw new Error(`reg add failed: ${planted.stdout} ${planted.stderr}`);
    browser = await launchChromium();
    page = await openWorkstation(browser, ws);
  }, 240_000);

  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await agent?.stop();
    await prefix?.kill();
    await ws?.cleanup();
  });

  it('shows the Windows device with its OS, online', async () => {
    await page.getByTestId('nav-devices').click();
    const row = page.locator(`[data-testid="device-row-${WINDEV}"][data-online="true"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toMatch(/Windows/);
    await screenshot(page, 'windows-device-inventory');
  });

  it('a console tab on it renders registry and persistence as tables', async () => {
    const sessionId = await openConsoleFor(page, WINDEV);
    await focusConsole(page, WINDEV);
    const reg = await run(page, sessionId, 'registry "HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion"');
    expect(reg).toMatch(/ProductName/);
    // a table: a header line of column names, then aligned rows
    expect(reg).toMatch(/^\s*\S+\s{2,}\S+.*$/m);
    await screenshot(page, 'windows-console-registry');
    const per = await run(page, sessionId, 'persistence');
    expect(per).toMatch(/^category\s+owner\s+mtime\s+path\s+detail/m);
    expect(per).toMatch(/^run-key\s.*dropper\.exe/im);
    await screenshot(page, 'windows-console-persistence');
  });
});
