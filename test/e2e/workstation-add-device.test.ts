/**
 * "Add a device" on the Devices page: an admin picks the OS, makes an installer, saves the
 * script and gets the one command to run, the token's expiry and the agent's SHA-256. The saved script
 * carries the one-time token, the service's CA and the SHA-256 of the agent file the service holds. Before
 * the service has an agent file the page says how to add one; a basic user sees the button disabled with
 * the reason. (The script itself is run against a real service in test/integration/installer-script.test.ts.)
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  openWorkstation,
  runCli,
  startWorkstation,
  type Workstation,
} from './workstation-helpers.js';

let ws: Workstation;
let browser: Browser;
let page: Page;

// A small real x86-64 ELF stands in for the agent here: the page shows and the script carries its hash.
const STAND_IN = '/bin/true';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

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

/** A value of the bash script's variable block (`NAME='value'`). */
function scriptValue(text: string, name: string): string {
  const m = new RegExp(`^${name}='([^']*)'$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in the script`);
  return m[1] as string;
}

describe('Add a device', () => {
  it('says how to add an agent file while the service has none', async () => {
    await page.getByTestId('nav-devices').click();
    await expect.poll(() => page.getByTestId('add-device').isEnabled(), { timeout: 15_000 }).toBe(true);
    await page.getByTestId('add-device').click();
    await expect
      .poll(() => page.getByTestId('add-device-no-file').textContent())
      .toContain('lr-server agent-files add FILE --target linux-x64');
    expect(await page.getByTestId('add-device-make').isDisabled()).toBe(true);
    await page.getByTestId('add-device-close').click();
  });

  it('makes a Linux installer: the command to run, the expiry, the hash, and a saved script with token, CA and hash', async () => {
    runCli('lr-server', ['agent-files', 'add', STAND_IN, '--target', 'linux-x64', '--data', ws.serviceDir]);
    const hash = sha256(readFileSync(STAND_IN));
    await page.getByTestId('add-device').click();
    await page.getByTestId('add-device-os-linux').click();
    await expect.poll(() => page.getByTestId('add-device-make').isEnabled()).toBe(true);
    await page.getByTestId('add-device-make').click();
    await page.getByTestId('add-device-result').waitFor();

    expect(await page.getByTestId('add-device-command').textContent()).toBe('sudo bash lr-install-linux.sh');
    expect(await page.getByTestId('add-device-hash-linux-x64').textContent()).toContain(hash);
    const expiry = await page.getByTestId('add-device-expiry').locator('time').getAttribute('datetime');
    const hours = (Date.parse(expiry ?? '') - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    expect(await page.getByTestId('add-device-expiry').textContent()).toMatch(/UTC/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('add-device-save').click()]);
    expect(download.suggestedFilename()).toBe('lr-install-linux.sh');
    const saved = path.join(ws.dataDir, 'saved-lr-install-linux.sh');
    await download.saveAs(saved);
    const text = readFileSync(saved, 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(scriptValue(text, 'LR_SHA256_LINUX_X64')).toBe(hash);
    const ca = readFileSync(path.join(ws.serviceDir, 'tls', 'ca.pem'), 'utf8');
    expect(Buffer.from(scriptValue(text, 'LR_CA_B64'), 'base64').toString()).toBe(ca);
    const bundle = JSON.parse(Buffer.from(scriptValue(text, 'LR_BUNDLE_B64'), 'base64').toString()) as {
      kind: string;
      token: string;
      ca: string;
      expiresAt: string;
    };
    expect(bundle.kind).toBe('lr-enrollment');
    expect(bundle.token).toMatch(/^lre_[0-9a-z]{12}_[A-Za-z0-9_-]{43}$/);
    expect(bundle.ca).toBe(ca);
    expect(bundle.expiresAt).toBe(expiry);
    expect(Buffer.from(scriptValue(text, 'LR_AUTH_B64'), 'base64').toString()).toBe(
      `Authorization: Bearer ${bundle.token}\n`,
    );

    // The Copy button copies the command (the clipboard of the page, read back).
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(ws.url).origin });
    await page.getByTestId('add-device-copy').click();
    await expect.poll(() => page.getByTestId('add-device-copy').getAttribute('data-state')).toBe('copied');

    await screenshot(page, 'workstation-add-device-linux-1400');
    await page.setViewportSize({ width: 1024, height: 760 });
    await screenshot(page, 'workstation-add-device-linux-1024');
    await page.setViewportSize({ width: 1400, height: 860 });
    // Keyboard: the focus stays inside the dialog, Escape closes it.
    for (let i = 0; i < 8; i++) await page.keyboard.press('Tab');
    expect(await page.getByTestId('add-device-dialog').locator(':focus').count()).toBe(1);
    await page.keyboard.press('Escape');
    expect(await page.getByTestId('add-device-dialog').count()).toBe(0);
  });

  it('makes a Windows installer: the PowerShell command and the .exe hash', async () => {
    const exe = path.join(ws.dataDir, 'stand-in.exe');
    writeFileSync(exe, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(4096, 1)]));
    runCli('lr-server', ['agent-files', 'add', exe, '--target', 'win-x64', '--data', ws.serviceDir]);
    await page.getByTestId('add-device').click();
    await page.getByTestId('add-device-os-windows').click();
    await expect.poll(() => page.getByTestId('add-device-make').isEnabled()).toBe(true);
    await page.getByTestId('add-device-make').click();
    await page.getByTestId('add-device-result').waitFor();
    expect(await page.getByTestId('add-device-command').textContent()).toBe(
      'powershell -ExecutionPolicy Bypass -File .\\lr-install-windows.ps1',
    );
    expect(await page.getByTestId('add-device-hash-win-x64').textContent()).toContain(sha256(readFileSync(exe)));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('add-device-save').click()]);
    expect(download.suggestedFilename()).toBe('lr-install-windows.ps1');
    await screenshot(page, 'workstation-add-device-windows-1400');
    await page.setViewportSize({ width: 1024, height: 760 });
    await screenshot(page, 'workstation-add-device-windows-1024');
    await page.setViewportSize({ width: 1400, height: 860 });
    await page.getByTestId('add-device-close').click();
  });

  it('shows a basic user the button disabled, with the reason', async () => {
    const profile = `${ws.dataDir}/basic.profile.json`;
    runCli('lr-server', ['user', 'add', 'bob', '--role', 'basic', '--data', ws.serviceDir, '--out', profile]);
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('profile-path').fill(profile);
    await page.getByTestId('profile-connect').click();
    await expect.poll(() => page.getByTestId('workspace-user').textContent(), { timeout: 15_000 }).toContain('bob');
    await page.getByTestId('nav-devices').click();
    await expect
      .poll(() => page.getByTestId('add-device-reason').textContent(), { timeout: 15_000 })
      .toContain('adding a device is for admins (you are bob, basic)');
    expect(await page.getByTestId('add-device').isDisabled()).toBe(true);
    expect(await page.getByTestId('add-device').getAttribute('title')).toContain('for admins');
    await screenshot(page, 'workstation-add-device-basic-user');
  });
});
