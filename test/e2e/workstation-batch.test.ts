/**
 * The workstation's batch flow against the browser shell as a real process
 * (embedded service + this machine's agent) with two more agents started as processes, in Chromium:
 * select 3 devices (by hand, or a device group's members) → Run on selected (a malformed line first: refused in one
 * line, nothing typed lost;
 * Tab completes the command) → the Batch page's per-device rows reach completed → the merged table holds
 * rows of the 3 devices (device column), the device filter narrows it → Export CSV has the device column
 * and rows of all 3 → the batch, having ended while shown, is in the active case (results CSV identical to
 * the export, JSON, a note naming the batch). Then a batch on an offline device waits (queued, with its
 * note) and Cancel (confirmed) ends it; a file pulled by a batch lands in the case with the device's
 * SHA-256, while one altered on the service after it was pulled is refused and nothing of that batch is
 * stored. Last, signed in as a basic user: an advanced command is refused in the dialog in one line (the
 * service's), nothing starts, and Tab does not offer the commands this role may not run. Screenshots:
 * /tmp/batch-page.png (1280×800) and /tmp/batch-page-1024.png.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchApi } from '../../src/client/batch-api.js';
import { profileSchema } from '../../src/node/profile.js';
import { createCase, openCase } from './cases-helpers.js';
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

const tag = randomBytes(3).toString('hex');
const B = `batch-b-${tag}`;
const C = `batch-c-${tag}`;
const DEVICES = [HOST, B, C];
let ws: Workstation;
let browser: Browser;
let page: Page;
let agents: (RunningProcess & { dataDir: string })[] = [];
let sleeper: ChildProcess | undefined;
let fixture: string;
let firstBatch = '';
let caseId = '';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  ensureWorkstationBuilt();
  fixture = mkdtempSync(path.join(tmpdir(), 'lr-e2e-batch-'));
  // Something for `processes -name sleep` to find on every device (all three agents run on this machine).
  sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  ws = await startWorkstation();
  browser = await launchChromium();
  page = await openWorkstation(browser, ws, { width: 1280, height: 800 });
  agents = [await startExtraAgent(ws, B), await startExtraAgent(ws, C)];
  for (const name of [B, C])
    await page.locator(`[data-testid="device-row-${name}"][data-online="true"]`).waitFor({ timeout: 30_000 });
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  for (const agent of agents) await agent.stop();
  await ws?.cleanup();
  sleeper?.kill();
  if (fixture) rmSync(fixture, { recursive: true, force: true });
});

async function tick(names: readonly string[]): Promise<void> {
  await page.getByTestId('nav-devices').click();
  for (const name of names) await page.getByTestId(`device-row-${name}`).getByTestId('select-device').check();
  await expect.poll(() => page.getByTestId('selected-count').textContent()).toContain(`${names.length} selected`);
}

async function runOnSelected(line: string): Promise<string> {
  await page.getByTestId('run-on-selected').click();
  await page.getByTestId('run-batch-line').fill(line);
  await page.getByTestId('run-batch-run').click();
  const batch = page.getByTestId('section-batch');
  await batch.waitFor({ timeout: 15_000 });
  return (await batch.getAttribute('data-batch-id')) ?? '';
}

/** Devices named in the merged rows on screen (the table is windowed: these are all in view here). */
async function rowDevices(): Promise<string[]> {
  return page
    .getByTestId('batch-result-row')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device') ?? ''));
}

describe('workstation: Run on selected and the Batch page', () => {
  it('runs one line on 3 selected devices, shows per-device rows, the merged table, filter, CSV export, and keeps it in the case', async () => {
    caseId = await createCase(page, `Batch e2e ${tag}`);
    await tick(DEVICES);

    // Refused by the service: one line in the dialog, the line stays as typed, nothing started.
    await page.getByTestId('run-on-selected').click();
    const dialog = page.getByTestId('run-batch-dialog');
    await expect.poll(() => dialog.locator('h2').textContent()).toBe('Run on 3 devices');
    const bad = 'processes -name "sleep';
    await page.getByTestId('run-batch-line').fill(bad);
    await page.getByTestId('run-batch-run').click();
    const refusal = page.getByTestId('run-batch-error');
    await refusal.waitFor();
    const refusalText = (await refusal.textContent()) ?? '';
    expect(refusalText).toMatch(/unterminated quote/);
    expect(refusalText).not.toContain('\n');
    expect(refusalText).not.toContain('lr:batches');
    expect(await page.getByTestId('run-batch-line').inputValue()).toBe(bad);
    await screenshot(page, 'workstation-batch-dialog-refused');
    expect(await dialog.isVisible()).toBe(true);

    // Tab completes the command as a console does; then the real line.
    await page.getByTestId('run-batch-line').fill('proce');
    await page.getByTestId('run-batch-line').press('Tab');
    await expect.poll(() => page.getByTestId('run-batch-line').inputValue()).toBe('processes ');
    await page.getByTestId('run-batch-line').press('End');
    await page.getByTestId('run-batch-line').pressSequentially('-name sleep');
    await page.getByTestId('run-batch-comment').fill(`e2e ${tag}`);
    await page.getByTestId('run-batch-run').click();
    const section = page.getByTestId('section-batch');
    await section.waitFor({ timeout: 15_000 });
    firstBatch = (await section.getAttribute('data-batch-id')) ?? '';
    expect(firstBatch).not.toBe('');
    expect(await page.getByTestId('section-title').textContent()).toBe('Batches');
    expect(await page.getByTestId('batch-command').textContent()).toBe('processes -name sleep');

    // Every device's row reaches completed, with rows; the batch completes.
    for (const name of DEVICES) {
      await page.locator(`[data-testid="batch-target-${name}"][data-status="completed"]`).waitFor({ timeout: 60_000 });
      expect(
        Number(await page.getByTestId(`batch-target-${name}`).getByTestId('batch-target-rows').textContent()),
      ).toBeGreaterThan(0);
    }
    await page.locator('[data-testid="section-batch"][data-status="completed"]').waitFor({ timeout: 15_000 });

    // The merged table: rows of the three devices, the device column first.
    await page.locator('[data-testid="batch-results"][data-ready="true"]').waitFor();
    await expect.poll(async () => new Set(await rowDevices()), { timeout: 15_000 }).toEqual(new Set(DEVICES));
    const head = await page.locator('.batch-row--head span').allTextContents();
    expect(head.slice(0, 2)).toEqual(['device', 'step']);
    expect(head).toContain('name');
    const allRows = Number(await page.getByTestId('batch-results').getAttribute('data-rows'));

    // The device filter narrows it to one device.
    await page.getByTestId('batch-filter-device').selectOption({ label: B });
    await expect.poll(async () => [...new Set(await rowDevices())], { timeout: 15_000 }).toEqual([B]);
    expect(Number(await page.getByTestId('batch-results').getAttribute('data-rows'))).toBeLessThan(allRows);
    await page.getByTestId('batch-filter-device').selectOption({ label: 'All devices' });
    await expect.poll(async () => new Set(await rowDevices()), { timeout: 15_000 }).toEqual(new Set(DEVICES));

    // Export CSV: a file with the device column and rows of all three.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('batch-export-csv').click()]);
    const csv = readFileSync((await download.path()) ?? '', 'utf8');
    expect(download.suggestedFilename()).toMatch(new RegExp(`^batch-${firstBatch}-.*\\.csv$`));
    const lines = csv.trim().split(/\r?\n/);
    const columns = (lines[0] ?? '').split(',');
    expect(columns[0]).toBe('device');
    const deviceAt = columns.indexOf('device');
    expect(new Set(lines.slice(1).map((l) => l.split(',')[deviceAt]))).toEqual(new Set(DEVICES));
    expect(lines.length - 1).toBe(allRows);
    await expect
      .poll(() => page.getByTestId('batch-note').textContent())
      .toMatch(new RegExp(`^${allRows} rows exported to `));

    // The batch ended while shown: its output went into the active case by itself (results CSV = the export).
    await openCase(page, caseId, 'evidence');
    const csvRow = page.getByTestId(`evidence-row-${sha256(csv)}`);
    await csvRow.waitFor({ timeout: 15_000 });
    expect(await csvRow.locator('.cell-strong').textContent()).toBe(`batch-${firstBatch}-results.csv`);
    expect(
      await page.locator('.evidence__row .cell-strong', { hasText: `batch-${firstBatch}-results.json` }).count(),
    ).toBe(1);
    await page.getByTestId('case-tab-notes').click();
    await page.locator('.notes__item', { hasText: `Batch ${firstBatch}` }).waitFor();

    // Save to case again: nothing added twice, it says where the results already are.
    await page.getByTestId('nav-batches').click();
    await page.locator(`[data-testid="section-batch"][data-batch-id="${firstBatch}"]`).waitFor();
    await page.getByTestId('batch-save-to-case').click();
    await expect.poll(() => page.getByTestId('batch-note').textContent()).toMatch(/^Already in case “Batch e2e /);

    // The page at 1280×800 and 1024 px.
    await page.screenshot({ path: '/tmp/batch-page.png' });
    await page.setViewportSize({ width: 1024, height: 768 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: '/tmp/batch-page-1024.png' });
    await screenshot(page, 'workstation-batch-1024');
    // Nothing wider than the window: no horizontal scroll of the page itself at 1024 px.
    const scrollWidth = (): number =>
      (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
        .scrollWidth;
    expect(await page.evaluate(scrollWidth)).toBeLessThanOrEqual(1024);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('"Select a group" ticks every member of a device group (admins), the others ticked stay', async () => {
    runCli('lr', [
      '--profile',
      ws.adminProfile,
      'groups',
      'add',
      `web-${tag}`,
      '--level',
      'full',
      '--rule',
      `name:batch-*-${tag}`,
    ]);
    await tick([HOST]);
    // The picker asks for the groups again when it gets the focus.
    await page.getByTestId('select-group').focus();
    await expect
      .poll(() => page.getByTestId('select-group').locator('option').allTextContents(), { timeout: 15_000 })
      .toContain(`web-${tag} (2)`);
    await page.getByTestId('select-group').selectOption({ label: `web-${tag} (2)` });
    await expect.poll(() => page.getByTestId('selected-count').textContent()).toContain('3 selected');
    for (const name of DEVICES)
      expect(await page.getByTestId(`device-row-${name}`).getAttribute('data-selected')).toBe('true');
    await page.setViewportSize({ width: 1024, height: 768 });
    await screenshot(page, 'workstation-batch-group-1024');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByTestId('clear-selection').click();
    await page.getByTestId(`device-row-${HOST}`).getByTestId('select-device').check();
    await page.getByTestId('select-group').selectOption({ label: `web-${tag} (2)` });
    await expect.poll(() => page.getByTestId('selected-count').textContent()).toContain('3 selected');
    await page.getByTestId('clear-selection').click();
    expect(await page.getByTestId('selected-count').count()).toBe(0);
  });

  it('a batch on an offline device waits (queued, with why) and Cancel ends it after a confirmation', async () => {
    const agent = agents[1] as RunningProcess & { dataDir: string };
    await agent.stop();
    await page.getByTestId('nav-devices').click();
    await page.locator(`[data-testid="device-row-${C}"][data-online="false"]`).waitFor({ timeout: 30_000 });
    await tick([C]);
    await screenshot(page, 'workstation-batch-devices');
    const id = await runOnSelected('processes -name sleep');
    const row = page.locator(`[data-testid="batch-target-${C}"][data-status="queued"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getByTestId('batch-target-note').textContent()).toMatch(/offline/);

    await page.getByTestId('batch-cancel').click();
    await page.getByTestId('batch-cancel-dialog').waitFor();
    await page.getByTestId('batch-cancel-dialog-confirm').click();
    await page
      .locator(`[data-testid="section-batch"][data-batch-id="${id}"][data-status="cancelled"]`)
      .waitFor({ timeout: 15_000 });
    expect(await page.getByTestId(`batch-target-${C}`).getAttribute('data-status')).toBe('cancelled');

    // The list: newest first.
    await page.getByTestId('batch-back').click();
    const items = page.getByTestId('batch-item');
    await expect.poll(() => items.count()).toBe(2);
    expect(await items.nth(0).getAttribute('data-id')).toBe(id);
    expect(await items.nth(0).getAttribute('data-status')).toBe('cancelled');
    expect(await items.nth(1).getAttribute('data-id')).toBe(firstBatch);
    await screenshot(page, 'workstation-batch-list');
  });

  it('a file pulled by a batch is shown with its SHA-256 and kept in the case, checked', async () => {
    const content = randomBytes(64 * 1024);
    const file = path.join(fixture, `pulled-${tag}.bin`);
    writeFileSync(file, content);
    await tick([HOST, B]);
    await runOnSelected(`getfile ${file}`);
    for (const name of [HOST, B])
      await page.locator(`[data-testid="batch-target-${name}"][data-status="completed"]`).waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByTestId('batch-file').count(), { timeout: 15_000 }).toBe(2);
    for (const text of await page.getByTestId('batch-file').allTextContents()) expect(text).toContain(sha256(content));
    await expect
      .poll(() => page.getByTestId('batch-note').textContent(), { timeout: 30_000 })
      .toMatch(/saved to case “Batch e2e .*”: 4 items \(results CSV and JSON, 2 pulled files\)/);
    await page.setViewportSize({ width: 1024, height: 768 });
    await screenshot(page, 'workstation-batch-files-1024');
    await page.setViewportSize({ width: 1280, height: 800 });
    await openCase(page, caseId, 'evidence');
    const pulled = page.locator(`[data-testid="evidence-row-${sha256(content)}"]`);
    await expect.poll(() => pulled.count(), { timeout: 15_000 }).toBe(2);
    for (const integrity of await pulled.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-integrity'))))
      expect(integrity).toBe('ok');
  });

  it('Save to case refuses a pulled file whose bytes no longer match its SHA-256, and stores nothing of that batch', async () => {
    const content = randomBytes(32 * 1024);
    const file = path.join(fixture, `tampered-${tag}.bin`);
    writeFileSync(file, content);
    // Started outside the page (as `lr batch` would): it ends while the Batch page is not showing it.
    const api = new BatchApi(profileSchema.parse(JSON.parse(readFileSync(ws.adminProfile, 'utf8'))));
    const created = await api.create({ commands: [`getfile ${file}`], target: { devices: [HOST] } });
    await expect
      .poll(async () => (await api.get(created.id)).status, { timeout: 60_000, interval: 250 })
      .toBe('completed');
    // The copy the service keeps is altered after the agent's hash was checked.
    const kept = path.join(ws.serviceDir, 'batches', created.id);
    const files = readdirSync(kept, { recursive: true, withFileTypes: true }).filter(
      (e) => e.isFile() && e.name === path.basename(file),
    );
    expect(files).toHaveLength(1);
    const keptFile = path.join((files[0] as { parentPath: string }).parentPath, path.basename(file));
    const altered = Buffer.from(content);
    altered[0] = (altered[0] as number) ^ 0xff;
    writeFileSync(keptFile, altered);

    await page.getByTestId('nav-batches').click();
    if (await page.getByTestId('batch-back').isVisible()) await page.getByTestId('batch-back').click();
    await page.locator(`[data-testid="batch-item"][data-id="${created.id}"]`).click();
    await page
      .locator(`[data-testid="section-batch"][data-batch-id="${created.id}"][data-status="completed"]`)
      .waitFor();
    await page.getByTestId('batch-save-to-case').click();
    await expect
      .poll(() => page.getByTestId('batch-note').textContent(), { timeout: 15_000 })
      .toMatch(/^not saved to the case: .*SHA-256 mismatch/);
    expect(((await page.getByTestId('batch-note').textContent()) ?? '').split('\n')).toHaveLength(1);

    // Nothing of this batch in the case: no results, no file under either hash; nothing left in downloads/.
    await openCase(page, caseId, 'evidence');
    await page.locator('.evidence__row').first().waitFor();
    expect(await page.locator('.evidence__row .cell-strong', { hasText: `batch-${created.id}-` }).count()).toBe(0);
    expect(await page.getByTestId(`evidence-row-${sha256(altered)}`).count()).toBe(0);
    expect(await page.getByTestId(`evidence-row-${sha256(content)}`).count()).toBe(0);
    const downloads = path.join(ws.dataDir, 'downloads');
    expect(
      existsSync(downloads) ? readdirSync(downloads).filter((n) => n.startsWith(`batch-${created.id}`)) : [],
    ).toEqual([]);
  });

  it('a basic user: an advanced command is refused in one line in the dialog, nothing starts, Tab offers only what the role may run', async () => {
    const api = new BatchApi(profileSchema.parse(JSON.parse(readFileSync(ws.adminProfile, 'utf8'))));
    const before = (await api.list()).length;
    const profile = path.join(fixture, 'basic.profile.json');
    runCli('lr-server', ['user', 'add', `basic-${tag}`, '--role', 'basic', '--data', ws.serviceDir, '--out', profile]);
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('profile-path').fill(profile);
    await page.getByTestId('profile-connect').click();
    await expect
      .poll(() => page.getByTestId('workspace-user').textContent(), { timeout: 15_000 })
      .toContain(`basic-${tag}`);
    await page.getByTestId('nav-devices').click();
    await page.locator(`[data-testid="device-row-${HOST}"][data-online="true"]`).waitFor({ timeout: 30_000 });
    // Groups are the service's admin business: no group picker for this user.
    await page.waitForTimeout(500);
    expect(await page.getByTestId('select-group').count()).toBe(0);
    await tick([HOST]);
    await page.getByTestId('run-on-selected').click();
    const line = page.getByTestId('run-batch-line');
    await line.fill('coll');
    await line.press('Tab');
    await page.waitForTimeout(500);
    expect(await line.inputValue()).toBe('coll');
    const advanced = 'collect /etc/hostname';
    await line.fill(advanced);
    await page.getByTestId('run-batch-run').click();
    const refusal = page.getByTestId('run-batch-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(
      /^collect: refused: needs the advanced role \(you are basic\); nothing was started$/,
    );
    expect(await line.inputValue()).toBe(advanced);
    expect(await page.getByTestId('run-batch-dialog').isVisible()).toBe(true);
    await screenshot(page, 'workstation-batch-basic-refused');
    expect((await api.list()).length).toBe(before);
  });
});
