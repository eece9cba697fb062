/**
 * Plumbing of the Cases end-to-end tests: a page on a workstation whose service may be unreachable, the
 * Cases page's controls, an independent hex dump line, and a zip member's data located to tamper with it.
 */
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { screenshot } from './helpers.js';
import { HOST, type Workstation } from './workstation-helpers.js';

/**
 * A page on the workstation, loaded. With `deviceOnline` (standalone) it also waits for this machine to
 * be online in the inventory; without it, it does not need a service at all.
 */
export async function openPage(browser: Browser, ws: Workstation, options: { deviceOnline: boolean }): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  await page.addInitScript({ content: 'window.__lrTestHooks = true;' });
  await page.goto(ws.url);
  try {
    await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 30_000 });
    if (options.deviceOnline)
      await page.locator(`[data-testid="device-row-${HOST}"][data-online="true"]`).waitFor({ timeout: 30_000 });
  } catch (e) {
    await screenshot(page, 'failed-cases-open');
    throw new Error(`${(e as Error).message}; shell stderr: ${ws.stderr.slice(-10).join(' | ')}`, { cause: e });
  }
  return page;
}

export async function gotoCases(page: Page): Promise<void> {
  await page.getByTestId('nav-cases').click();
  await page.getByTestId('section-cases').waitFor();
}

/** The id of the case row titled `title` (waits for it). */
export async function caseIdByTitle(page: Page, title: string): Promise<string> {
  const row = page.locator(`[data-testid^="case-row-"][data-title="${title.replace(/"/g, '\\"')}"]`);
  await row.first().waitFor({ timeout: 15_000 });
  const id = await row.first().getAttribute('data-case-id');
  if (!id) throw new Error(`case row "${title}" without an id`);
  return id;
}

/** Creates a case through the UI; it becomes the active one. Returns its id. */
export async function createCase(page: Page, title: string): Promise<string> {
  await gotoCases(page);
  await page.getByTestId('cases-new-title').fill(title);
  await page.getByTestId('cases-create').click();
  const id = await caseIdByTitle(page, title);
  await page.locator(`[data-testid="case-row-${id}"][data-active="true"]`).waitFor();
  await expect.poll(() => page.getByTestId('case-title').textContent()).toBe(title);
  return id;
}

export async function openCase(page: Page, caseId: string, tab: 'notes' | 'transcripts' | 'evidence'): Promise<void> {
  await gotoCases(page);
  await page.getByTestId(`case-row-${caseId}`).click();
  await page.locator(`[data-testid="case-detail"][data-case-id="${caseId}"]`).waitFor();
  await page.getByTestId(`case-tab-${tab}`).click();
}

/** The first line `hexdump -C` prints for these bytes (at most 16 of them), written independently of the app. */
export function hexdumpLine(bytes: Uint8Array, offset: number): string {
  const hex = [...bytes.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0'));
  const left = hex.slice(0, 8).join(' ');
  const right = hex.slice(8).join(' ');
  const ascii = [...bytes.subarray(0, 16)].map((b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.')).join('');
  return `${offset.toString(16).padStart(8, '0')}  ${left}  ${right}  |${ascii}|`;
}

/**
 * Where a member's (stored or compressed) data lies in a zip, from its central directory entry (sizes in
 * local headers may be deferred to a data descriptor). Zip64 is not handled (test archives are small).
 */
export function zipMemberData(zip: Buffer, name: string): { start: number; length: number; method: number } {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip: no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (entryName === name) {
      if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      return { start, length: compressed, method };
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`no member ${name} in the zip`);
}

/** Names of a zip's members (central directory order). */
export function zipMemberNames(zip: Buffer): string[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < entries; i++) {
    const nameLength = zip.readUInt16LE(at + 28);
    names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return names;
}
