/**
 * `npm run bench:agent-file [-- --dir DIR] [--runs N]`: the agent's single executables.
 * - the size of the three files (and gzipped, as a download could be), built by scripts/package-agent.mjs into a
 *   temporary folder (or taken from DIR);
 * - linux-x64, with no Node on its PATH, against a real service on loopback: the time from spawning
 *   `lr-agent start` to "online" (the agent's "connected to the service" line, written when the service
 *   welcomes it; checked once against the service's inventory), median and worst of N runs; its resident
 *   memory (VmRSS) after 10 s connected, idle;
 * - the same for `node out/bin/lr-agent.js` (the peer: the agent run from a checkout).
 * Goals: file < 100 MB, start to online < 2 s, idle RSS < 60 MB. Prints a markdown section.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createWorld, median, type World } from './lib.js';
import { BIN, ROOT, run, waitFor } from '../test/integration/harness.js';

const FILES = ['lr-agent-linux-x64', 'lr-agent-linux-arm64', 'lr-agent-win-x64.exe'];
const GOAL = { sizeMB: 100, onlineMs: 2000, rssMB: 60 };

const { values } = parseArgs({ options: { dir: { type: 'string' }, runs: { type: 'string' } }, strict: true });
const runs = Number(values.runs ?? 5);

const mb = (bytes: number) => bytes / 1e6;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

function buildFiles(): { dir: string; temporary: boolean } {
  if (values.dir) return { dir: values.dir, temporary: false };
  const dir = mkdtempSync(join(tmpdir(), 'lr-bench-agent-file-'));
  execFileSync(process.execPath, [join(ROOT, 'scripts/package-agent.mjs'), '--out', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { dir, temporary: true };
}

/**
 * VmRSS, and its parts: anonymous (heap, stacks) and file pages (the executable's own pages, clean, shared and
 * reclaimable).
 */
function rssOf(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024;
  return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

interface Rss {
  total: number;
  anon: number;
  file: number;
}

interface Run {
  onlineMs: number;
  child: ChildProcess;
}

/** Spawns the agent and resolves when it says the service welcomed it. */
function startTimed(cmd: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => rej(new Error(`not online after 30 s: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('connected to the service')) {
        clearTimeout(timer);
        res({ onlineMs: performance.now() - t0, child });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => rej(new Error(`exited with ${code}: ${out}`)));
  });
}

async function stopAgent(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGTERM');
  });
}

async function enrollWith(
  w: World,
  name: string,
  enroll: (bundle: string, dataDir: string) => Promise<string>,
): Promise<{ dataDir: string; deviceId: string }> {
  const bundle = join(w.dir, `${name}.bundle.json`);
  const t = await run('lr-server', ['enroll-token', '--data', w.dataDir, '--out', bundle, '--ttl', '1h']);
  if (t.code !== 0) throw new Error(t.stderr);
  const dataDir = join(w.dir, `agent-${name}`);
  const out = await enroll(bundle, dataDir);
  const deviceId = /device id (\w+)/.exec(out)?.[1];
  if (!deviceId) throw new Error(`enroll printed no device id: ${out}`);
  return { dataDir, deviceId };
}

interface Figures {
  onlineMs: number[];
  rss: Rss;
}

async function measure(
  w: World,
  name: string,
  cmd: string,
  prefix: string[],
  env: Record<string, string>,
): Promise<Figures> {
  const { dataDir, deviceId } = await enrollWith(w, name, async (bundle, dir) =>
    execFileSync(cmd, [...prefix, 'enroll', '--bundle', bundle, '--data', dir, '--name', name], {
      env,
      encoding: 'utf8',
    }),
  );
  const onlineMs: number[] = [];
  let rss: Rss = { total: 0, anon: 0, file: 0 };
  for (let i = 0; i < runs; i++) {
    const r = await startTimed(cmd, [...prefix, 'start', '--data', dataDir], { ...env, LR_LOG_LEVEL: 'info' });
    onlineMs.push(r.onlineMs);
    if (i === 0)
      await waitFor(
        `${name} online in the inventory`,
        async () => (await w.devices()).find((d) => d.id === deviceId && d.online),
        15_000,
      );
    if (i === runs - 1) {
      await new Promise((res) => setTimeout(res, 10_000));
      rss = rssOf(r.child.pid!);
    }
    await stopAgent(r.child);
    await waitFor(`${name} offline`, async () => !(await w.devices()).find((d) => d.id === deviceId)?.online, 15_000);
  }
  return { onlineMs, rss };
}

const { dir, temporary } = buildFiles();
const w = await createWorld();
try {
  const sizes = FILES.map((f) => {
    const data = readFileSync(join(dir, f));
    return { f, size: statSync(join(dir, f)).size, gz: gzipSync(data, { level: 6 }).length };
  });
  const sea = await measure(w, 'bench-sea', join(dir, 'lr-agent-linux-x64'), [], {});
  const fromNode = await measure(w, 'bench-node', process.execPath, [BIN('lr-agent')], {
    PATH: process.env.PATH ?? '',
  });
  const version = execFileSync(join(dir, 'lr-agent-linux-x64'), ['--version'], { encoding: 'utf8', env: {} }).trim();
  const ok = (v: number, goal: number) => (v < goal ? 'yes' : '**no**');
  const line = (label: string, f: Figures) =>
    `| ${label} | ${fmt(median(f.onlineMs), 0)} ms | ${fmt(Math.max(...f.onlineMs), 0)} ms | ${ok(median(f.onlineMs), GOAL.onlineMs)} | ${fmt(f.rss.total)} MB (${fmt(f.rss.anon)} anonymous + ${fmt(f.rss.file)} file) | ${ok(f.rss.total, GOAL.rssMB)} |`;
  const out = [
    `## Agent files (\`npm run bench:agent-file\`)`,
    '',
    `${version}; ${cpus().length} × ${cpus()[0]?.model ?? '?'}, loopback, ${runs} starts each.`,
    '',
    '| file | size | gzipped | < 100 MB |',
    '|---|---|---|---|',
    ...sizes.map((s) => `| ${s.f} | ${fmt(mb(s.size))} MB | ${fmt(mb(s.gz))} MB | ${ok(mb(s.size), GOAL.sizeMB)} |`),
    '',
    '| linux-x64 agent | start → online (median) | worst | < 2 s | idle RSS after 10 s | < 60 MB |',
    '|---|---|---|---|---|---|',
    line('single executable, no Node on PATH', sea),
    line(`node ${process.versions.node} + out/bin/lr-agent.js (peer)`, fromNode),
    '',
  ].join('\n');
  console.log(out);
} finally {
  await w.cleanup();
  if (temporary) rmSync(dir, { recursive: true, force: true });
}
