/**
 * Cluster mode from the workstation: the browser shell (a real process, in Debian's Chromium) connected with
 * an analyst profile that lists the three nodes of a cluster (real 3-server NATS + 3 lr-server processes),
 * with an agent on node 2 and one on node 3:
 *   - the Devices page shows both online, "via" the node that holds each agent; a console on the device of
 *     node 2, reached through node 1, runs `dir /`;
 *   - node 1 (the one the workstation talks to) is SIGKILLed: the workstation moves to another node by
 *     itself (the status shows its URL), the devices stay online, the console open at the kill ends with a
 *     message, and new consoles run `dir /` on both devices (the one of the dead console's device once the
 *     dead node's claim expired, or at once).
 * Screenshots in test-results/.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LrCluster } from '../cluster/lr-cluster.js';
import { natsSkipReason } from '../cluster/nats-cluster.js';
import { run as runProcess } from '../integration/harness.js';
import { openPage } from './cases-helpers.js';
import { launchChromium, screenshot } from './helpers.js';
import {
  ensureWorkstationBuilt,
  focusConsole,
  run,
  startWorkstation,
  terminalText,
  waitForPrompt,
  type Workstation,
} from './workstation-helpers.js';
import { describeNeeds } from '../needs.js';

const ON_NODE2 = 'vm-cluster';
const ON_NODE3 = 'vm-cluster-3';
/**
 * A session whose console's node died holds its device until the other nodes free it, ~8 s after the node
 * went silent (4 s to call it dead, 4 s more), at worst when its lease lapses (30 s): docs/cluster.md.
 */
const DEAD_NODE_CLAIM_MS = 45_000;
const DEAD_NODE_FREED_MS = 20_000;

let cluster: LrCluster | undefined;
let ws: Workstation | undefined;
let browser: Browser | undefined;
let page: Page;
let profileUrls: string[] = [];
let consoleOnNode2 = '';

const nodeUrl = (i: number): string => {
  const port = String(cluster!.node(i).port);
  const url = profileUrls.find((u) => new URL(u).port === port);
  if (!url) throw new Error(`no URL of node ${i} in the profile: ${profileUrls.join(', ')}`);
  return url;
};

const workspaceStatus = (): Promise<string> =>
  page
    .getByTestId('status-workspace')
    .textContent()
    .then((t) => t ?? '');

/** Clicks "Initiate live response session" on the device and returns the new tab's session id, or the error shown. */
async function initiate(deviceName: string): Promise<{ sessionId?: string; error?: string }> {
  await page.getByTestId('nav-devices').click();
  const row = page.getByTestId(`device-row-${deviceName}`);
  await row.locator('[data-testid="device-presence"]').waitFor();
  const errorBox = page.getByTestId('device-error');
  await row.getByTestId('initiate-session').click();
  const tab = page.locator(`[data-testid="console-tab-${deviceName}"]`).last();
  // Either a new (not closed) tab appears, or the page says why not.
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    if ((await errorBox.count()) > 0) return { error: (await errorBox.textContent()) ?? '' };
    const id = (await tab.count()) > 0 ? await tab.getAttribute('data-session-id') : null;
    if (id && (await tab.locator('.tabs__close').count()) === 0) {
      await waitForPrompt(page, id);
      return { sessionId: id };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no console tab and no error for ${deviceName}`);
}

describeNeeds(natsSkipReason)('workstation against a cluster of 3 service nodes', () => {
  beforeAll(async () => {
    ensureWorkstationBuilt();
    cluster = await LrCluster.start(3);
    await cluster.addAgent(2, ON_NODE2);
    await cluster.addAgent(3, ON_NODE3);

    // An analyst profile made on node 1: `user add` puts every live node into it (this node first).
    const adminProfile = JSON.parse(readFileSync(cluster.profile(1), 'utf8')) as { urls?: string[] };
    console.log(`[cluster-e2e] node 1's admin.profile.json lists ${adminProfile.urls?.length ?? 0} urls`);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'lr-ws-cluster-'));
    const profile = path.join(dataDir, 'analyst.profile.json');
    const add = await runProcess('lr-server', [
      'user',
      'add',
      'analyst',
      '--role',
      'admin',
      '--data',
      cluster.node(1).dataDir,
      '--out',
      profile,
    ]);
    if (add.code !== 0) throw new Error(`user add: ${add.stderr}`);
    const written = JSON.parse(readFileSync(profile, 'utf8')) as { url: string; urls?: string[] };
    profileUrls = written.urls ?? [written.url];

    // The saved choice of a workstation connected to a service (what "Connect" in Settings writes).
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'workstation.json'), JSON.stringify({ profilePath: profile }), { mode: 0o600 });
    ws = await startWorkstation(dataDir);
    browser = await launchChromium();
    page = await openPage(browser, ws, { deviceOnline: false });
  }, 150_000);

  afterAll(async () => {
    await page?.close().catch(() => undefined);
    await browser?.close();
    await ws?.cleanup();
    await cluster?.stop();
  });

  it('lists every node in the analyst profile, node 1 first; connects to node 1', async () => {
    expect(profileUrls).toHaveLength(3);
    expect(profileUrls[0]).toBe(nodeUrl(1));
    expect(new Set(profileUrls)).toEqual(new Set([nodeUrl(1), nodeUrl(2), nodeUrl(3)]));
    const status = page.getByTestId('status-workspace');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('ready');
    expect(await workspaceStatus()).toBe(`${nodeUrl(1)} · analyst (admin)`);
  });

  it('shows both devices online via their nodes; a console on the device of node 2 runs dir /', async () => {
    const c = cluster!;
    await page.getByTestId('nav-devices').click();
    for (const [name, node] of [
      [ON_NODE2, 2],
      [ON_NODE3, 3],
    ] as const) {
      const row = page.locator(`[data-testid="device-row-${name}"][data-online="true"]`);
      await row.waitFor({ timeout: 30_000 });
      await expect
        .poll(() => row.getByTestId('device-node').textContent(), { timeout: 15_000 })
        .toBe(`via ${c.node(node).id}`);
    }
    await screenshot(page, 'workstation-cluster-devices');

    const opened = await initiate(ON_NODE2);
    expect(opened.error).toBeUndefined();
    consoleOnNode2 = opened.sessionId as string;
    await focusConsole(page, ON_NODE2);
    const out = await run(page, consoleOnNode2, 'dir /');
    expect(out).toMatch(/\betc\b/);
    expect(out).toMatch(/\btmp\b/);
  });

  it('SIGKILL of node 1: the workstation moves to another node by itself; consoles work again', async () => {
    const c = cluster!;
    const killedAt = Date.now();
    await c.killNode(1);

    // The status shows a live node within ~15 s, without anything done in the UI.
    await expect
      .poll(workspaceStatus, { timeout: 15_000, interval: 200 })
      .toMatch(
        new RegExp(
          `^(${[nodeUrl(2), nodeUrl(3)].map((u) => u.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')}) · analyst \\(admin\\)$`,
        ),
      );
    const movedMs = Date.now() - killedAt;
    expect(await page.getByTestId('status-workspace').getAttribute('data-state')).toBe('ready');

    // The devices are still listed online, each via its (live) node.
    await page.getByTestId('nav-devices').click();
    await page.locator(`[data-testid="device-row-${ON_NODE2}"][data-online="true"]`).waitFor({ timeout: 15_000 });
    await page.locator(`[data-testid="device-row-${ON_NODE3}"][data-online="true"]`).waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('devices-unreachable').count()).toBe(0);

    // The console open at the kill (its WebSocket was to node 1) ends, and says so.
    await page.getByTestId('nav-consoles').click();
    await page.getByTestId(`console-tab-${ON_NODE2}`).click();
    const lost = `disconnected from the service node ${new URL(nodeUrl(1)).host} \\(.+\\); a new session goes to another node of the cluster`;
    await expect
      .poll(() => terminalText(page, consoleOnNode2), { timeout: 15_000 })
      .toMatch(new RegExp(`session closed: ${lost}`));
    const banner = page.getByTestId('closed-banner');
    await expect.poll(() => banner.textContent(), { timeout: 5_000 }).toMatch(new RegExp(`^Session closed: ${lost}`));
    const closedText = (await banner.textContent()) ?? '';
    await screenshot(page, 'workstation-cluster-console-ended');

    // A new console, through the node the workstation moved to, on the device of node 3.
    const three = await initiate(ON_NODE3);
    expect(three.error).toBeUndefined();
    await focusConsole(page, ON_NODE3);
    expect(await run(page, three.sessionId as string, 'dir /')).toMatch(/\btmp\b/);
    const newConsoleMs = Date.now() - killedAt;

    // The device whose console died: its session claim was held by node 1; the live nodes free it.
    await page.getByTestId('nav-consoles').click();
    await page.getByTestId(`console-tab-${ON_NODE2}`).locator('.tabs__close').click();
    let refusals = 0;
    let firstRefusal = '';
    let two: { sessionId?: string; error?: string } = {};
    for (const deadline = Date.now() + DEAD_NODE_CLAIM_MS; Date.now() < deadline;) {
      two = await initiate(ON_NODE2);
      if (two.sessionId) break;
      refusals += 1;
      firstRefusal ||= two.error ?? '';
      expect(two.error).toMatch(/already has a live response session/);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    expect(two.sessionId, `still refused: ${two.error}`).toBeDefined();
    const reopenedMs = Date.now() - killedAt;
    expect(reopenedMs, "the dead node's claim was freed by the live nodes, not by the lease").toBeLessThan(
      DEAD_NODE_FREED_MS,
    );
    await focusConsole(page, ON_NODE2);
    expect(await run(page, two.sessionId as string, 'dir /')).toMatch(/\btmp\b/);
    await page.getByTestId('nav-devices').click();
    await screenshot(page, 'workstation-cluster-after-failover');
    console.log(
      `[cluster-e2e] status on another node ${movedMs} ms after the kill; new console ran dir / after ${newConsoleMs} ms; ` +
        `ended console said "${closedText}"; ${ON_NODE2} refused ${refusals}× (${firstRefusal || 'never'}), reopened ${reopenedMs} ms after the kill`,
    );
  });
});
