/**
 * The workstation page for tenant settings: an admin turns live response off from the Settings
 * page and a session is then refused with the service's one-line reason; turning it back on lets the
 * session open; a limit changed on the page is what `lr settings get` reports; a basic user sees why the
 * card is not for them.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  HOST,
  openConsoleFor,
  openWorkstation,
  runCli,
  startWorkstation,
  type Workstation,
} from './workstation-helpers.js';

let ws: Workstation;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ensureWorkstationBuilt();
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await ws?.cleanup();
});

function serviceSettings(): { liveResponse: boolean; limits: Record<string, number> } {
  return JSON.parse(runCli('lr', ['--profile', ws.adminProfile, 'settings', 'get', '--json'])) as {
    liveResponse: boolean;
    limits: Record<string, number>;
  };
}

describe('tenant settings page', () => {
  it('turns live response off and on, and changes a limit, as an admin', async () => {
    await page.getByTestId('nav-settings').click();
    const liveResponse = page.getByTestId('tenant-liveResponse');
    await liveResponse.waitFor();
    expect(await liveResponse.isChecked()).toBe(true);

    // The box follows what the service answered (controlled), so click, confirm and wait for the answer.
    await liveResponse.click();
    await page.getByTestId('tenant-confirm-confirm').click();
    await expect.poll(() => liveResponse.isChecked()).toBe(false);
    expect(serviceSettings().liveResponse).toBe(false);
    await page.getByTestId('nav-devices').click();
    await page.getByTestId(`device-row-${HOST}`).getByTestId('initiate-session').click();
    await expect
      .poll(() => page.getByTestId('device-error').textContent(), { timeout: 15_000 })
      .toContain('live response is turned off');
    await screenshot(page, 'workstation-tenant-live-response-off');

    await page.getByTestId('nav-settings').click();
    await page.getByTestId('tenant-liveResponse').click();
    await expect.poll(() => page.getByTestId('tenant-liveResponse').isChecked()).toBe(true);
    expect(serviceSettings().liveResponse).toBe(true);
    await openConsoleFor(page, HOST);

    await page.getByTestId('nav-settings').click();
    await page.getByTestId('tenant-limit-idleTimeoutSec').fill('900');
    await page.getByTestId('tenant-limits-save').click();
    await expect.poll(() => serviceSettings().limits.idleTimeoutSec).toBe(900);
    // Shown back with its unit.
    await expect.poll(() => page.getByTestId('tenant-limit-idleTimeoutSec').inputValue()).toBe('15 min');
    await screenshot(page, 'workstation-tenant-settings');

    // A nonsense value is refused in one line, beside its field, before anything is sent.
    await page.getByTestId('tenant-limit-maxSessionsPerUser').fill('-3');
    await page.getByTestId('tenant-limits-save').click();
    expect(await page.getByTestId('tenant-limit-maxSessionsPerUser-error').textContent()).toMatch(/must be positive/);
    expect(serviceSettings().limits.maxSessionsPerUser).toBe(10);
  });

  it('tells a basic user the settings are for admins', async () => {
    const profile = `${ws.dataDir}/basic.profile.json`;
    runCli('lr-server', ['user', 'add', 'bea', '--role', 'basic', '--data', ws.serviceDir, '--out', profile]);
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('profile-path').fill(profile);
    await page.getByTestId('profile-connect').click();
    await expect.poll(() => page.getByTestId('workspace-user').textContent(), { timeout: 15_000 }).toContain('bea');
    await expect
      .poll(() => page.getByTestId('tenant-settings-reason').textContent(), { timeout: 15_000 })
      .toContain('for admins');
    expect(await page.getByTestId('tenant-liveResponse').count()).toBe(0);
  });
});
