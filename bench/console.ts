/**
 * Console rendering: the time the workstation's console (browser shell, Debian's
 * Chromium, xterm.js) takes to render ~20 MB of command output — findfile over 150 000 files with long
 * names, one table row each — and the worst UI response while it prints:
 *   - click latency: a click on a console tab every ~300 ms, from the pointerdown's timestamp to the frame
 *     after the tab switched (measured in the page);
 *   - the longest gap between two animation frames (the longest the page could not paint or respond).
 * Peer: the same command through `lr exec` with its output thrown away (no rendering at all), measured in
 * the same run: the ratio is what rendering costs on top of the transfer.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import {
  clickTabLatency,
  launchChromium,
  SHELL_URL_LINE,
  startProcess,
  type RunningProcess,
} from '../test/e2e/helpers.js';
import { ROOT } from '../test/integration/harness.js';
import { stageTable, stageTimes, type Stage } from './cpu-profile.js';
import { median, percentile } from './lib.js';

/** The page's stages, innermost first (see cpu-profile.ts). */
const PAGE_STAGES: Stage[] = [
  { name: 'flow-control acknowledgements', match: /^(acknowledge|sendAck)$/ },
  { name: 'formatting rows into table lines (output-renderer)', match: /^(renderItem|receive)$/ },
  { name: 'xterm.js parsing (write buffer)', match: /^_innerWrite$/ },
  { name: 'xterm.js drawing rows', match: /^(renderRows|_renderRows|_innerRefresh|handleSelectionChanged)$/ },
  { name: 'WebSocket frames in (JSON.parse, routing)', match: /^onFrame$/ },
];
/** The browser shell's process: the service, the workstation's main side, and its socket to the page. */
const SHELL_STAGES: Stage[] = [
  { name: 'socket writes (all sockets, native)', match: /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/ },
  { name: 'hashing (command log seals, evidence digests)', match: /^(update|digest)$|crypto\/hash/ },
  { name: 'SQLite (command log)', match: /better-sqlite3/ },
  { name: 'push to the page (JSON.stringify, WebSocket)', match: /browser-shell\.js:send$/ },
  { name: 'calls from the page (acknowledgements)', match: /browser-shell\.js:answer$/ },
  { name: 'WebSocket frames in (parse, JSON)', match: /^parseFrame$|ws\/lib\/receiver\.js/ },
];
const CLI_STAGES: Stage[] = [
  { name: 'formatting rows into table lines', match: /^(renderTable|renderTableRows|planTable)$/ },
  { name: 'WebSocket frames in (parse, JSON)', match: /^parseFrame$|ws\/lib\/receiver\.js/ },
];

/**
 * Development only: fewer folders (LR_BENCH_CONSOLE_DIRS), and CPU profiles of every process (LR_BENCH_PROFILE=DIR).
 */
const DIRS = Number(process.env.LR_BENCH_CONSOLE_DIRS ?? 300);
const PROFILE_DIR = process.env.LR_BENCH_PROFILE;
/** Development only: xterm's renderer to measure (LR_BENCH_RENDERER=dom|webgl; default: the console's own default). */
const RENDERER = process.env.LR_BENCH_RENDERER;
const PER_DIR = 500;
const FILES = DIRS * PER_DIR;
const HOST = hostname();
const PEER = 'render-peer';
const BIN = (name: string): string => path.join(ROOT, 'out', 'bin', `${name}.js`);

type Stats = { lines: number; records: number; chars: number; running: boolean; cols: number };
const stats = (page: Page, id: string): Promise<Stats | undefined> =>
  page.evaluate(
    (sid) => (globalThis as { __lrTerminals?: { stats(s: string): Stats | undefined } }).__lrTerminals?.stats(sid),
    id,
  );

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`bench console: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function cli(name: string, args: string[]): string {
  const r = spawnSync(process.execPath, [BIN(name), ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${name} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function openConsole(page: Page, device: string): Promise<string> {
  await page.getByTestId('nav-devices').click();
  await page.locator(`[data-testid="device-row-${device}"][data-online="true"]`).waitFor({ timeout: 30_000 });
  await page.getByTestId(`device-row-${device}`).getByTestId('initiate-session').click();
  const tab = page.getByTestId(`console-tab-${device}`);
  await tab.waitFor();
  const id = (await tab.getAttribute('data-session-id')) ?? '';
  await until('the prompt', async () => (await stats(page, id))?.running === false, 30_000);
  return id;
}

const WATCH = `(() => {
  const w = window;
  w.__lrBench = { gaps: [], clicks: [], stop: false };
  let last = performance.now();
  const frame = (t) => { w.__lrBench.gaps.push(t - last); last = t; if (!w.__lrBench.stop) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})()`;

export async function benchConsole(): Promise<string> {
  const tree = mkdtempSync(path.join(tmpdir(), 'lr-bench-render-'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lr-bench-ws-'));
  const pad = 'x'.repeat(64);
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(tree, `folder-${String(d).padStart(3, '0')}`);
    mkdirSync(dir);
    for (let f = 0; f < PER_DIR; f++)
      writeFileSync(path.join(dir, `evidence-${pad}-${String(f).padStart(3, '0')}.log`), '');
  }
  let shell: RunningProcess | undefined;
  let agent: RunningProcess | undefined;
  const browser = await launchChromium();
  try {
    const profiling = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
    shell = startProcess([...profiling, path.join(ROOT, 'out/main/browser-shell.js'), '--port', '0'], {
      ...process.env,
      LR_DATA_DIR: dataDir,
      LR_LOG_LEVEL: 'warn',
    });
    const url = (await shell.waitForLine(SHELL_URL_LINE, 60_000))[1] as string;
    const serviceDir = path.join(dataDir, 'service');
    // A second device, for a second console tab to click on while the first one prints.
    const agentDir = path.join(dataDir, 'peer-agent');
    mkdirSync(agentDir);
    cli('lr-server', ['enroll-token', '--data', serviceDir, '--out', path.join(agentDir, 'bundle.json')]);
    cli('lr-agent', ['enroll', '--bundle', path.join(agentDir, 'bundle.json'), '--data', agentDir, '--name', PEER]);
    agent = startProcess([BIN('lr-agent'), 'start', '--data', agentDir], { ...process.env, LR_LOG_LEVEL: 'warn' });
    await agent.waitForLine(/started/);

    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.addInitScript({
      content: `window.__lrTestHooks = true;${RENDERER ? ` window.__lrTerminalRenderer = ${JSON.stringify(RENDERER)};` : ''}`,
    });
    await page.goto(url);
    await page.locator('body[data-app-state="loaded"]').waitFor({ timeout: 60_000 });
    await openConsole(page, HOST);
    const id = await openConsole(page, PEER);
    await page.locator(`[data-testid="terminal-${id}"] .xterm`).click();

    const line = `findfile "*.log" -path ${tree}`;
    await page.evaluate(WATCH);
    const cdp = PROFILE_DIR ? await page.context().newCDPSession(page) : undefined;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
      await cdp.send('Profiler.start');
    }
    await page.keyboard.type(line);
    const started = Date.now();
    await page.keyboard.press('Enter');
    const clicks: number[] = [];
    let i = 0;
    for (;;) {
      const s = await stats(page, id);
      if (s && !s.running && s.records >= FILES) break;
      if (Date.now() - started > 900_000) throw new Error('bench console: the output did not finish in 15 minutes');
      if ((s?.records ?? 0) > 0 && s?.running) {
        clicks.push(await clickTabLatency(page, i % 2 === 0 ? `console-tab-${HOST}` : `console-tab-${PEER}`));
        i += 1;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    const seconds = (Date.now() - started) / 1000;
    if (cdp && PROFILE_DIR)
      writeFileSync(
        path.join(PROFILE_DIR, 'page.cpuprofile'),
        JSON.stringify((await cdp.send('Profiler.stop')).profile),
      );
    const final = (await stats(page, id)) as Stats;
    const gaps = (await page.evaluate('window.__lrBench.stop = true, window.__lrBench.gaps')) as number[];
    const webgl = (await page.locator(`[data-testid="terminal-${id}"] .xterm-screen canvas`).count()) > 0;

    // Disconnect the printing console (one session per device), for the CLI run below on the same device.
    await page.getByTestId('nav-consoles').click();
    await page.getByTestId(`console-tab-${PEER}`).click();
    await page.getByTestId('console-disconnect').click();
    await page.getByTestId('disconnect-dialog-confirm').click();
    await page
      .getByTestId(`console-tab-${PEER}`)
      .waitFor({ state: 'detached', timeout: 15_000 })
      .catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));

    // Peer: the same command through the CLI, output thrown away, on the same device (its agent is a process
    // of its own; the workstation's embedded agent shares the shell's event loop, which the CLI's would not).
    const profile = path.join(serviceDir, 'admin.profile.json');
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [...profiling, BIN('lr'), '--profile', profile, 'exec', PEER, line], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 900_000,
    });
    const cliSeconds = (Date.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`lr exec: ${r.stderr.toString()}`);

    let breakdown: string[] = [];
    if (PROFILE_DIR && cdp) {
      await shell.stop();
      const endedAt = Date.now();
      const ofPid = (pid: number | undefined): string =>
        path.join(
          PROFILE_DIR,
          readdirSync(PROFILE_DIR).find((f) => f.includes(`.${pid}.`) && f.endsWith('.cpuprofile')) ?? 'missing',
        );
      breakdown = [
        `CPU profiles of this run (LR_BENCH_PROFILE: every process profiled, the peer too), each sample counted in the innermost stage on its stack:`,
        ``,
        ...stageTable(
          'page (Chromium renderer), while printing',
          stageTimes(path.join(PROFILE_DIR, 'page.cpuprofile'), PAGE_STAGES),
        ),
        ``,
        ...stageTable(
          'browser shell process (service + workstation main), while printing',
          stageTimes(ofPid(shell.child.pid), SHELL_STAGES, { endedAt, from: started, to: started + seconds * 1000 }),
        ),
        ``,
        ...stageTable('`lr exec` (the peer)', stageTimes(ofPid(r.pid), CLI_STAGES)),
        ``,
      ];
    }
    const mb = final.chars / 1e6;
    const f1 = (n: number): string => n.toFixed(1);
    return [
      `## Console rendering (20 MB)`,
      ``,
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; Debian's Chromium (headless) through the browser shell, xterm.js's ${webgl ? 'WebGL' : 'DOM'} renderer; ${new Date().toISOString().slice(0, 10)}.`,
      `\`${line.replace(tree, 'TREE')}\` over ${FILES.toLocaleString('en')} files: ${final.records.toLocaleString('en')} rows, ${f1(mb)} MB written to xterm.js (${final.cols} columns).`,
      ``,
      `| measure | workstation console | peer | ratio |`,
      `|---|---|---|---|`,
      `| time to render everything | ${f1(seconds)} s (${f1(mb / seconds)} MB/s) | \`lr exec\`, output discarded: ${f1(cliSeconds)} s | **${(seconds / cliSeconds).toFixed(2)}×** |`,
      `| click on another tab while printing (${clicks.length} clicks) | p50 ${f1(median(clicks))} ms, worst ${f1(Math.max(...clicks))} ms | limit 200 ms | ${Math.max(...clicks) < 200 ? '✅' : '❌'} |`,
      `| longest frame gap while printing (${gaps.length} frames) | p99 ${f1(percentile(gaps, 99))} ms, worst ${f1(Math.max(...gaps))} ms | — | |`,
      ``,
      `Both sides run the command on the same device (an agent process of its own). Flow control: 16 ms batches of up to 200 000 characters, two in flight (400 000-character high-water mark); xterm gets 32 KB pieces, each acknowledged once parsed, so it yields to clicks every ~12 ms; table times are formatted once per second. xterm draws with its DOM renderer here: this Chromium's only GL is software (SwiftShader), where the WebGL renderer measured slower and far less responsive; on a hardware GPU the console uses WebGL.`,
      ``,
      ...breakdown,
    ].join('\n');
  } finally {
    await browser.close();
    await agent?.stop();
    await shell?.stop();
    rmSync(tree, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}
