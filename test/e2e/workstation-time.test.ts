/**
 * Time zones: one setting (Settings page; UTC by default) and a zone on every time the
 * workstation shows. The browser runs in America/New_York (Playwright's timezoneId), as the analyst's did:
 * by default every time on the console header, `jobs`, the Log page and the Devices page ends with UTC;
 * switched to the browser's zone they show EST (UTC-5) for the very same instants, at once (no reload);
 * the choice is kept by the workstation (a new browser profile finds it); a zone Intl does not know is
 * refused beside the field.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  HOST,
  openConsoleFor,
  focusConsole,
  run,
  startWorkstation,
  type Workstation,
} from './workstation-helpers.js';

const ZONE = 'America/New_York';
let ws: Workstation;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  ensureWorkstationBuilt();
  ws = await startWorkstation();
  browser = await launchChromium();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await ws?.cleanup();
});

/**
 * A fresh browser profile (no storage) whose clock is in New York, on the loaded workstation. The launch
 * link works once: a second profile gets only the first one's session cookie (nothing else of it).
 */
async function openInNewYork(width = 1400, signedIn?: BrowserContext): Promise<Page> {
  const context = await browser.newContext({ timezoneId: ZONE, viewport: { width, height: 860 } });
  contexts.push(context);
  if (signedIn) await context.addCookies(await signedIn.cookies());
  const page = await context.newPage();
  await page.addInitScript({ content: 'window.__lrTestHooks = true;' });
  await page.goto(signedIn ? new URL(ws.url).origin : ws.url);
  await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 30_000 });
  await page.locator(`[data-testid="device-row-${HOST}"][data-online="true"]`).waitFor({ timeout: 30_000 });
  return page;
}

interface Shown {
  /** As shown (lists show a compact form, `12:36:10 UTC`, with the full one in the title). */
  text: string;
  full: string;
  iso: string;
}

/** Every <time> the page shows inside `scope`: its text, its full form and the exact instant it stands for. */
async function timesIn(page: Page, scope: string): Promise<Shown[]> {
  return page.locator(`${scope} time[data-instant]`).evaluateAll((nodes) =>
    nodes.map((node) => ({
      text: node.textContent ?? '',
      full: node.getAttribute('title') || node.textContent || '',
      iso: node.getAttribute('datetime') ?? '',
    })),
  );
}

const FULL = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (UTC|EST \(UTC-5\))$/;

/** The instant a full shown time stands for (to the second), from its own text and zone. */
function instantOf(text: string): number {
  const m = FULL.exec(text);
  if (!m) throw new Error(`not a full time with a zone: "${text}"`);
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return m[7] === 'UTC' ? utc : utc + 5 * 3600_000;
}

const toSecond = (iso: string): number => Math.floor(Date.parse(iso) / 1000) * 1000;

/** `jobs` rows: command id → the started time as printed. */
function jobTimes(output: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s.*?(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} (?:UTC|EST \(UTC-5\)))/.exec(line);
    if (m) rows.set(m[1] as string, m[2] as string);
  }
  return rows;
}

/** Times on screen not followed by a zone (hh:mm or hh:mm:ss then something else than a zone). */
async function bareTimes(page: Page, scope: string): Promise<string[]> {
  const text = await page.locator(scope).innerText();
  return [...text.matchAll(/\b\d{1,2}:\d{2}(?::\d{2})?(?![:\d])(?! (?:UTC|EST|EDT))/g)].map((m) => m[0]);
}

describe('item 6: every time shown carries its zone, one setting for all', () => {
  let page: Page;
  let sessionId: string;
  let jobsUtc: Map<string, string>;
  const seen = new Map<string, Shown[]>();

  it('item 6: defaults to UTC on the console header, jobs, the Log page and Devices, in a New York browser', async () => {
    page = await openInNewYork();
    expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe(ZONE);
    expect(await page.getByTestId('status-time-zone').textContent()).toBe('times in UTC');

    // Devices: the last-seen time of this machine.
    const devices = await timesIn(page, '[data-testid="device-table"]');
    expect(devices.length).toBeGreaterThan(0);
    for (const t of devices) expect(t.text).toMatch(/ UTC$/);
    expect(await bareTimes(page, '[data-testid="device-table"]')).toEqual([]);

    sessionId = await openConsoleFor(page, HOST);
    await focusConsole(page, HOST);
    await run(page, sessionId, 'fileinfo /etc/hostname');
    const jobs = await run(page, sessionId, 'jobs -all');
    jobsUtc = jobTimes(jobs);
    expect(jobsUtc.size, jobs).toBeGreaterThan(0);
    for (const text of jobsUtc.values()) expect(text).toMatch(/ UTC$/);

    const header = await timesIn(page, '[data-testid="console-header"]');
    expect(header).toHaveLength(1);
    expect(header[0]?.text).toMatch(FULL);
    expect(header[0]?.text).toMatch(/ UTC$/);
    expect(instantOf(header[0]?.text ?? '')).toBe(toSecond(header[0]?.iso ?? ''));
    seen.set('header', header);
    await screenshot(page, 'workstation-time-utc-console');

    await page.getByTestId('nav-log').click();
    await page.getByTestId('log-row').first().waitFor();
    await page.getByTestId('log-row').first().click();
    await page.locator('[data-testid="log-detail"][data-id] dl time').waitFor();
    const log = await timesIn(page, '[data-testid="section-log"]');
    expect(log.length).toBeGreaterThan(1);
    for (const t of log) {
      expect(t.text).toMatch(/ UTC$/);
      expect(instantOf(t.full)).toBe(toSecond(t.iso));
    }
    // The list and the facts of the detail (the command's own output is the device's text, left as it is).
    expect(await bareTimes(page, '[data-testid="log-list"]')).toEqual([]);
    expect(await bareTimes(page, '[data-testid="log-detail"] dl')).toEqual([]);
    seen.set('log', log);
    await screenshot(page, 'workstation-time-utc-log');

    // The from/to fields are read in the same zone as the list (UTC), not in the browser's (New York).
    expect(await page.getByTestId('log-filter-zone').textContent()).toBe('UTC');
    const total = await page.getByTestId('log-total').textContent();
    const starts = log.map((t) => Date.parse(t.iso));
    const utcWall = (ms: number): string => new Date(ms).toISOString().slice(0, 16);
    // (After the newest: none. Then a minute before the oldest: all again, which a New York reading, five
    // hours later, would not give.)
    await page.getByTestId('log-filter-since').fill(utcWall(Math.max(...starts) + 60_000));
    await expect.poll(() => page.getByTestId('log-total').textContent()).toBe('0 commands');
    await page.getByTestId('log-filter-since').fill(utcWall(Math.min(...starts) - 60_000));
    await expect.poll(() => page.getByTestId('log-total').textContent()).toBe(total);
    await page.getByTestId('log-filter-since').fill('');
    await expect.poll(() => page.getByTestId('log-total').textContent()).toBe(total);
  });

  it('item 6: switched to the browser zone, the same instants show in EST (UTC-5), at once', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('tz-local').click();
    await expect.poll(() => page.getByTestId('status-time-zone').textContent()).toBe(`times in local (${ZONE})`);
    expect(await page.getByTestId('tz-preview').textContent()).toMatch(/ EST \(UTC-5\)$/);
    await screenshot(page, 'workstation-time-settings');
    await page.setViewportSize({ width: 1024, height: 760 });
    await screenshot(page, 'workstation-time-settings-1024');
    await page.setViewportSize({ width: 1400, height: 860 });

    // The Log page, the same row selected: the same instants, New York time.
    await page.getByTestId('nav-log').click();
    await page.getByTestId('log-row').first().click();
    await page.locator('[data-testid="log-detail"][data-id] dl time').waitFor();
    const log = await timesIn(page, '[data-testid="section-log"]');
    expect(log.map((t) => t.iso)).toEqual(seen.get('log')?.map((t) => t.iso));
    for (const t of log) {
      expect(t.text).toMatch(/ EST( \(UTC-5\))?$/);
      expect(t.full).toMatch(/ EST \(UTC-5\)$/);
      expect(instantOf(t.full)).toBe(toSecond(t.iso));
    }
    // The list and the facts of the detail (the command's own output is the device's text, left as it is).
    expect(await bareTimes(page, '[data-testid="log-list"]')).toEqual([]);
    expect(await bareTimes(page, '[data-testid="log-detail"] dl')).toEqual([]);
    await screenshot(page, 'workstation-time-local-log');

    await page.getByTestId('nav-devices').click();
    const devices = await timesIn(page, '[data-testid="device-table"]');
    expect(devices.length).toBeGreaterThan(0);
    for (const t of devices) expect(t.text).toMatch(/ EST$/);
    expect(await bareTimes(page, '[data-testid="device-table"]')).toEqual([]);

    // The console header redraws without a reload; new output (jobs) prints in the new zone.
    await focusConsole(page, HOST);
    const header = await timesIn(page, '[data-testid="console-header"]');
    expect(header[0]?.iso).toBe(seen.get('header')?.[0]?.iso);
    expect(header[0]?.text).toMatch(/ EST \(UTC-5\)$/);
    expect(instantOf(header[0]?.text ?? '')).toBe(instantOf(seen.get('header')?.[0]?.text ?? ''));
    const jobsLocal = jobTimes(await run(page, sessionId, 'jobs -all'));
    for (const [id, utc] of jobsUtc) {
      const local = jobsLocal.get(id);
      expect(local, id).toMatch(/ EST \(UTC-5\)$/);
      expect(instantOf(local ?? '')).toBe(instantOf(utc));
    }
    await screenshot(page, 'workstation-time-local-console');
  });

  it('item 6: refuses a zone Intl does not know beside the field, and keeps a typed one for a new browser profile', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('tz-input').fill('Mars/Olympus');
    await page.getByTestId('tz-apply').click();
    expect(await page.getByTestId('tz-error').textContent()).toMatch(
      /"Mars\/Olympus" is not a time zone this browser knows/,
    );
    expect(await page.getByTestId('status-time-zone').textContent()).toBe(`times in local (${ZONE})`);

    await page.getByTestId('tz-input').fill('Asia/Kolkata');
    await page.getByTestId('tz-apply').click();
    await expect.poll(() => page.getByTestId('status-time-zone').textContent()).toBe('times in Asia/Kolkata');
    expect(await page.getByTestId('tz-error').count()).toBe(0);

    // Kept by the workstation, not the browser: a new profile (no storage) finds it.
    const other = await openInNewYork(1024, page.context());
    expect(
      await other.evaluate(() => (globalThis as unknown as { localStorage: { length: number } }).localStorage.length),
    ).toBe(0);
    await expect.poll(() => other.getByTestId('status-time-zone').textContent()).toBe('times in Asia/Kolkata');
    const devices = await timesIn(other, '[data-testid="device-table"]');
    for (const t of devices) expect(t.text).toMatch(/ UTC\+5:30$/);
    await screenshot(other, 'workstation-time-devices-1024');

    // Back to the default for whoever looks next.
    await page.getByTestId('tz-utc').click();
    await expect.poll(() => page.getByTestId('status-time-zone').textContent()).toBe('times in UTC');
  });
});
