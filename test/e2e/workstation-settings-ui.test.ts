/**
 * Settings under incident pressure and the device table and the
 * navigation: the risky tenant switches ask for a confirmation that states their consequence, and
 * Cancel changes nothing on the service; with live response off, Devices and Consoles say so; limits
 * are typed with units and a wrong one is refused beside its field with nothing sent; the development
 * leftovers are gone; the device table does not move when a device goes offline; the navigation
 * collapses to initials and stays so after a reload.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, type RunningProcess } from './helpers.js';
import {
  ensureWorkstationBuilt,
  HOST,
  openWorkstation,
  runCli,
  startExtraAgent,
  startWorkstation,
  type Workstation,
} from './workstation-helpers.js';

let ws: Workstation;
let browser: Browser;
let page: Page;
let agent: RunningProcess | undefined;

beforeAll(async () => {
  ensureWorkstationBuilt();
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);
});

afterAll(async () => {
  await agent?.stop();
  await page?.close();
  await browser?.close();
  await ws?.cleanup();
});

interface ServiceSettings {
  liveResponse: boolean;
  unsignedScripts: boolean;
  limits: Record<string, number>;
}

function serviceSettings(): ServiceSettings {
  return JSON.parse(runCli('lr', ['--profile', ws.adminProfile, 'settings', 'get', '--json'])) as ServiceSettings;
}

async function at1024(name: string): Promise<void> {
  await screenshot(page, name);
  await page.setViewportSize({ width: 1024, height: 760 });
  await screenshot(page, `${name}-1024`);
  await page.setViewportSize({ width: 1400, height: 860 });
}

describe('item 12: settings', () => {
  it('item 12: risky switches ask a confirmation stating the consequence; Cancel changes nothing', async () => {
    await page.getByTestId('nav-settings').click();
    const unsigned = page.getByTestId('tenant-unsignedScripts');
    await unsigned.waitFor();
    expect(serviceSettings().unsignedScripts).toBe(false);

    // Allowing unsigned scripts: the dialog says what it means; Cancel leaves the service as it was.
    await unsigned.click();
    const dialog = page.getByTestId('tenant-confirm');
    await dialog.waitFor();
    expect(await page.getByTestId('tenant-confirm-consequence').textContent()).toMatch(
      /without a trusted publisher signature/,
    );
    await at1024('workstation-settings-confirm-unsigned');
    await page.getByTestId('tenant-confirm-cancel').click();
    await dialog.waitFor({ state: 'detached' });
    expect(await unsigned.isChecked()).toBe(false);
    expect(serviceSettings().unsignedScripts).toBe(false);
    // Escape is a Cancel too.
    await unsigned.click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(serviceSettings().unsignedScripts).toBe(false);
    // Confirmed: in force, with the service's warning.
    await unsigned.click();
    await page.getByTestId('tenant-confirm-confirm').click();
    await expect.poll(() => unsigned.isChecked()).toBe(true);
    expect(serviceSettings().unsignedScripts).toBe(true);
    // The safe direction needs no confirmation.
    await unsigned.click();
    await expect.poll(() => unsigned.isChecked()).toBe(false);
    expect(await dialog.count()).toBe(0);
    expect(serviceSettings().unsignedScripts).toBe(false);

    // Live response off: the same, and then Devices and Consoles say so instead of failing mysteriously.
    const live = page.getByTestId('tenant-liveResponse');
    await live.click();
    await dialog.waitFor();
    expect(await page.getByTestId('tenant-confirm-consequence').textContent()).toMatch(
      /No new live response session opens on any device/,
    );
    await page.getByTestId('tenant-confirm-cancel').click();
    expect(serviceSettings().liveResponse).toBe(true);
    await live.click();
    await page.getByTestId('tenant-confirm-confirm').click();
    await expect.poll(() => live.isChecked()).toBe(false);
    expect(serviceSettings().liveResponse).toBe(false);

    await page.getByTestId('nav-devices').click();
    await page.getByTestId('devices-live-response-off').waitFor();
    expect(await page.getByTestId('devices-live-response-off').textContent()).toMatch(
      /Live response is turned off for this tenant/,
    );
    await at1024('workstation-devices-live-response-off');
    await page.getByTestId('nav-consoles').click();
    await page.getByTestId('consoles-live-response-off').waitFor();

    // Turned on again elsewhere (the CLI): the page reads it again when it shows.
    runCli('lr', ['--profile', ws.adminProfile, 'settings', 'set', 'liveResponse', 'on']);
    await page.getByTestId('nav-devices').click();
    await expect.poll(() => page.getByTestId('devices-live-response-off').count()).toBe(0);
  });

  it('item 12: limits take units, and a wrong one is refused beside its field with nothing sent', async () => {
    await page.getByTestId('nav-settings').click();
    const size = page.getByTestId('tenant-limit-getfileBytes');
    const idle = page.getByTestId('tenant-limit-idleTimeoutSec');
    await size.fill('2 GiB');
    await idle.fill('30 min');
    await page.getByTestId('tenant-limits-save').click();
    await expect.poll(() => serviceSettings().limits.getfileBytes).toBe(2 * 1024 ** 3);
    expect(serviceSettings().limits.idleTimeoutSec).toBe(1800);
    await expect.poll(() => size.inputValue()).toBe('2 GiB');
    expect(await idle.inputValue()).toBe('30 min');

    const before = serviceSettings().limits;
    await size.fill('2 parsecs');
    await page.getByTestId('tenant-limit-maxSessionsPerUser').fill('30 min');
    await idle.fill('45 min');
    await page.getByTestId('tenant-limits-save').click();
    expect(await page.getByTestId('tenant-limit-getfileBytes-error').textContent()).toMatch(
      /^unknown unit "parsecs": expected a size such as 2 GiB/,
    );
    expect(await page.getByTestId('tenant-limit-maxSessionsPerUser-error').textContent()).toMatch(
      /^no unit here: expected a whole number/,
    );
    expect(await size.getAttribute('aria-invalid')).toBe('true');
    // Nothing was sent, not even the good field.
    expect(serviceSettings().limits).toEqual(before);
    await at1024('workstation-settings-limit-errors');
    // Fixing the field clears its error.
    await size.fill('3 GiB');
    expect(await page.getByTestId('tenant-limit-getfileBytes-error').count()).toBe(0);
  });

  it('item 12: no development leftovers (API round trip, event: hello, standalone while standalone)', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('workspace-card').waitFor();
    const text = await page.getByTestId('section-settings').innerText();
    expect(text).not.toContain('API round trip');
    expect(await page.getByTestId('echo-input').count()).toBe(0);
    expect(await page.getByTestId('workspace-mode').textContent()).toContain('standalone');
    expect(await page.getByTestId('use-standalone').count()).toBe(0);
    expect(await page.getByTestId('status-line').innerText()).not.toMatch(/event:|hello/);
  });
});

describe('item 16: the device table and the navigation', () => {
  it('item 16: the device table does not jump when a device goes offline', async () => {
    // "aaa-…" sorts before this machine: offline-last ordering would move every row under it.
    const name = 'aaa-leaves';
    agent = await startExtraAgent(ws, name);
    await page.getByTestId('nav-devices').click();
    const row = page.locator(`[data-testid="device-row-${name}"]`);
    await page.locator(`[data-testid="device-row-${name}"][data-online="true"]`).waitFor({ timeout: 20_000 });
    const layout = async (): Promise<{ order: string[]; hostY: number; hostHeight: number; widths: number[] }> => {
      const order = await page
        .locator('[data-testid^="device-row-"]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid') ?? ''));
      const box = await page.getByTestId(`device-row-${HOST}`).boundingBox();
      const widths = await page
        .locator('[data-testid="device-table"] th')
        .evaluateAll((ths) => ths.map((th) => Math.round(th.getBoundingClientRect().width)));
      return { order, hostY: Math.round(box?.y ?? -1), hostHeight: Math.round(box?.height ?? -1), widths };
    };
    const before = await layout();
    expect(before.order).toEqual([`device-row-${name}`, `device-row-${HOST}`]);
    const rowHeight = Math.round((await row.boundingBox())?.height ?? -1);

    await agent.stop();
    agent = undefined;
    await page.locator(`[data-testid="device-row-${name}"][data-online="false"]`).waitFor({ timeout: 30_000 });
    expect(await row.getByTestId('device-last-seen').textContent()).toMatch(/^last seen .* UTC · /);
    const after = await layout();
    expect(after).toEqual(before);
    expect(Math.round((await row.boundingBox())?.height ?? -1)).toBe(rowHeight);
    await at1024('workstation-devices-offline-stable');
  });

  it('item 16: the navigation collapses to initials and stays collapsed after a reload', async () => {
    const nav = page.getByTestId('nav');
    const wide = (await nav.boundingBox())?.width ?? 0;
    await page.getByTestId('nav-collapse').click();
    await expect.poll(() => nav.getAttribute('data-collapsed')).toBe('true');
    const narrow = (await nav.boundingBox())?.width ?? 0;
    expect(narrow).toBeLessThan(80);
    expect(narrow).toBeLessThan(wide);
    expect(await page.getByTestId('nav-log').textContent()).toBe('Lo');
    expect(await page.getByTestId('nav-library').getAttribute('aria-label')).toBe('Library');
    await page.getByTestId('nav-library').click();
    expect(await page.getByTestId('section-title').textContent()).toBe('Library');
    await at1024('workstation-nav-collapsed');

    await page.reload();
    await page.locator('body[data-app-state="loaded"]').waitFor();
    expect(await page.getByTestId('nav').getAttribute('data-collapsed')).toBe('true');
    await page.getByTestId('nav-collapse').click();
    await expect.poll(() => page.getByTestId('nav').getAttribute('data-collapsed')).toBe('false');
    expect(await page.getByTestId('nav-log').textContent()).toBe('Log');
  });
});
