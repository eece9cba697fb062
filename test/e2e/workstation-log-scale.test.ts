/**
 * The scale part: with 100 000 command log entries (TEST SEEDING: written
 * straight into the embedded service's SQLite `commands` table with better-sqlite3 before the page loads),
 * scrolling and filtering the log viewer take under 200 ms per action, measured in the page with
 * performance.now() around the action until the rows are shown, plus one requestAnimationFrame.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from './helpers.js';
import { ensureWorkstationBuilt, openWorkstation, startWorkstation, type Workstation } from './workstation-helpers.js';

const ENTRIES = 100_000;
const BUDGET_MS = 200;
let ws: Workstation;
let browser: Browser;
let page: Page;
const timings: Record<string, number[]> = {};

/** TEST SEEDING: 100 000 commands over 30 days, 4 users, every status, straight into the service's database. */
function seed(dbFile: string): void {
  const db = new Database(dbFile);
  try {
    db.pragma('busy_timeout = 10000');
    const admin = db.prepare("SELECT id FROM users WHERE name = 'admin'").get() as { id: string };
    const device = db.prepare('SELECT id FROM devices LIMIT 1').get() as { id: string };
    const users = [admin.id, 'seed-alice', 'seed-bob', 'seed-carol'];
    const addUser = db.prepare(
      "INSERT OR IGNORE INTO users (id, name, role, library_manager, created_at) VALUES (?, ?, 'advanced', 0, ?)",
    );
    for (const id of users.slice(1)) addUser.run(id, id.replace('seed-', ''), new Date().toISOString());
    const statuses = ['completed', 'completed', 'completed', 'failed', 'cancelled', 'timed_out', 'refused'];
    const lines = [
      (i: number) => `dir /var/log/app-${i % 977}`,
      (i: number) => `findfile "*.conf" -path /etc/site-${i % 311}`,
      (i: number) => `fileinfo /usr/bin/tool-${i % 1499}`,
      (i: number) => `processes -name worker-${i % 53}`,
      (i: number) => `getfile /srv/data/export-${i}.csv`,
    ];
    const insert = db.prepare(
      `INSERT INTO commands (id, session_id, user_id, device_id, command_line, name, status, background, started_at, ended_at, duration_ms, error, output, output_size)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`,
    );
    const start = Date.now() - 30 * 86_400_000;
    db.transaction(() => {
      for (let i = 0; i < ENTRIES; i++) {
        const line = (lines[i % lines.length] as (i: number) => string)(i);
        const status = statuses[i % statuses.length] as string;
        const at = new Date(start + i * 25_000).toISOString();
        const duration = (i * 37) % 5000;
        insert.run(
          `seed${i.toString(36).padStart(6, '0')}`,
          `seedsession${i % 400}`,
          users[i % users.length],
          device.id,
          line,
          line.split(' ')[0],
          status,
          at,
          new Date(Date.parse(at) + duration).toISOString(),
          duration,
          status === 'failed' ? `${line.split(' ')[0]}: no such file` : null,
          `output of ${i}\n`,
          13,
        );
      }
    })();
    // Fold the seeded rows into the database file now, as a long-running service would have, instead of
    // leaving a 100 000-row write-ahead log for the service's next write to checkpoint mid-measurement.
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  ensureWorkstationBuilt();
  ws = await startWorkstation();
  const dbFile = path.join(ws.serviceDir, 'lr.db');
  // The embedded service and this machine's agent are up once the device is enrolled (up to 2 min on a loaded
  // machine: seeding before the service has finished starting races its own writes).
  for (let i = 0; i < 1200; i++) {
    if (existsSync(ws.adminProfile) && existsSync(dbFile)) {
      try {
        const db = new Database(dbFile, { readonly: true });
        const n = (db.prepare('SELECT count(*) AS n FROM devices').get() as { n: number }).n;
        db.close();
        if (n > 0) break;
      } catch {
        // still being created
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  seed(dbFile);
  browser = await launchChromium();
  page = await openWorkstation(browser, ws);

  await page.getByTestId('nav-log').click();
  try {
    await page.locator('[data-testid="log-list"][data-ready="true"]').waitFor({ timeout: 30_000 });
  } catch (e) {
    await screenshot(page, 'failed-workstation-log-100k-load');
    throw e;
  }
});

afterAll(async () => {
  // eslint-disable-next-line no-console
  console.log('log viewer timings (ms):', JSON.stringify(timings));
  await page?.close();
  await browser?.close();
  await ws?.cleanup();
});

/**
 * In the page: runs one action and resolves when the list shows rows for it, plus one frame; returns
 * milliseconds. Plain JavaScript (a string): it runs in Chromium, not in Node.
 */
const MEASURE = `async ({ kind, arg }) => {
  const list = document.querySelector('[data-testid="log-list"]');
  const viewport = document.querySelector('[data-testid="log-viewport"]');
  const before = list.dataset.loaded;
  const t0 = performance.now();
  if (kind === 'scroll') {
    viewport.scrollTop = arg.top;
  } else if (arg.select) {
    const select = document.querySelector('[data-testid="' + arg.select + '"]');
    Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(select, arg.value);
    select.dispatchEvent(new Event('change', { bubbles: true }));
  } else {
    const input = document.querySelector('[data-testid="log-search"]');
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, arg.search);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }
  const rowsShown = () => {
    if (list.dataset.ready !== 'true') return false;
    if (kind === 'filter' && list.dataset.loaded === before) return false;
    if (Number(list.dataset.total) === 0) return true;
    const first = Math.floor(viewport.scrollTop / 30);
    const last = Math.min(Number(list.dataset.total) - 1, Math.floor((viewport.scrollTop + viewport.clientHeight) / 30));
    const shown = (i) => {
      const row = viewport.querySelector('.vlist__row[data-index="' + i + '"]');
      return row !== null && row.querySelector('[data-testid="log-row"]') !== null;
    };
    return shown(first) && shown(last);
  };
  await new Promise((resolve, reject) => {
    const deadline = performance.now() + 5000;
    const check = () => {
      if (rowsShown()) resolve();
      else if (performance.now() > deadline) reject(new Error('rows did not show within 5 s'));
      else setTimeout(check, 1);
    };
    check();
  });
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  return performance.now() - t0;
}`;

interface Action {
  top?: number;
  select?: string;
  value?: string;
  search?: string;
}

function timeInPage(kind: 'scroll' | 'filter', arg: Action): Promise<number> {
  return page.evaluate(`(${MEASURE})(${JSON.stringify({ kind, arg })})`) as Promise<number>;
}

/**
 * One retry, after a pause, when an action goes over budget: on a shared 2-core machine a neighbour's burst
 * or a GC pause can cost one action 100 ms. Both figures are recorded; the retry must be under budget.
 */
async function measured(name: string, again: () => Promise<number>, reset: () => Promise<unknown>): Promise<number> {
  let ms = await again();
  record(name, ms);
  if (ms >= BUDGET_MS) {
    await reset();
    await new Promise((r) => setTimeout(r, 500));
    ms = await again();
    record(`${name} (retry)`, ms);
  }
  return ms;
}

function record(name: string, ms: number): void {
  (timings[name] ??= []).push(Math.round(ms * 10) / 10);
}

describe('the command log viewer with 100 000 entries', () => {
  it('shows them all, renders only the visible rows', async () => {
    const list = page.getByTestId('log-list');
    expect(Number(await list.getAttribute('data-total'))).toBeGreaterThanOrEqual(ENTRIES);
    const rendered = await page.locator('.vlist__row').count();
    expect(rendered).toBeLessThan(100);
  });

  it('scrolls anywhere in under 200 ms per action', async () => {
    const total = Number(await page.getByTestId('log-list').getAttribute('data-total'));
    const height = total * 30;
    for (const fraction of [0.001, 0.1, 0.37, 0.5, 0.73, 0.999, 0.25, 0]) {
      const ms = await measured(
        'scroll',
        () => timeInPage('scroll', { top: Math.floor(height * fraction) }),
        () => timeInPage('scroll', { top: fraction > 0.5 ? 0 : height - 1 }),
      );
      expect(ms, `scroll to ${fraction}`).toBeLessThan(BUDGET_MS);
    }
    await screenshot(page, 'workstation-4-log-100k-scrolled');
  });

  it('filters and searches in under 200 ms per action', async () => {
    const actions: [string, Action][] = [
      ['status=failed', { select: 'log-filter-status', value: 'failed' }],
      ['status=any', { select: 'log-filter-status', value: '' }],
      ['user=alice', { select: 'log-filter-user', value: 'alice' }],
      ['user=any', { select: 'log-filter-user', value: '' }],
      ['search tool-14', { search: 'tool-14' }],
      ['search export-9999', { search: 'export-9999' }],
      ['search cleared', { search: '' }],
    ];
    for (const [name, arg] of actions) {
      const undo: Action =
        arg.search !== undefined
          ? { search: arg.search ? '' : 'tool-1' }
          : { select: arg.select, value: arg.value ? '' : 'completed' };
      const ms = await measured(
        `filter ${name}`,
        () => timeInPage('filter', arg),
        () => timeInPage('filter', undo),
      );
      expect(ms, name).toBeLessThan(BUDGET_MS);
    }
    // The filters really filter.
    await timeInPage('filter', { select: 'log-filter-status', value: 'timed_out' });
    expect(Number(await page.getByTestId('log-list').getAttribute('data-total'))).toBe(
      Math.floor(ENTRIES / 7) + (ENTRIES % 7 > 5 ? 1 : 0),
    );
    await screenshot(page, 'workstation-4-log-100k-filtered');
  });
});
