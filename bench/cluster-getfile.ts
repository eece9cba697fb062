/**
 * Getfile through two cluster nodes against the same getfile on one node, in the same run.
 * A real 3-server NATS cluster (plain loopback, as `bench cluster`) and two `lr-server` nodes; one agent on
 * node 1 ("near") and one on node 2 ("far"), both reading the same random file. The analyst (`lr exec …
 * getfile`, SHA-256 checked by the agent and the client) always talks to node 1: "near" is the one-node
 * path, "far" crosses NATS (node 2 → NATS → node 1). Runs alternate near/far; medians, their ratio
 * (goal ≥ 0.7×) and each node's peak RSS over the runs.
 *
 * BENCH_CLUSTER_GETFILE_BYTES (default 1 GiB), BENCH_RUNS (default 3). BENCH_CPU_PROF=DIR starts both
 * nodes with `node --cpu-prof --cpu-prof-dir DIR` (profiles written when the nodes stop).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LrCluster } from '../test/cluster/lr-cluster.js';
import { BIN } from '../test/integration/harness.js';
import { median } from './lib.js';

const SIZE = Number(process.env.BENCH_CLUSTER_GETFILE_BYTES ?? 1024 ** 3);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MiB = 1024 ** 2;

/** CPU seconds (user + system) a process used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rss(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** Runs one getfile from node 1, sampling both nodes' RSS; resolves with the seconds it took. */
async function getfile(c: LrCluster, device: string, src: string, out: string, peaks: number[]): Promise<number> {
  const pids = [c.node(1).proc!.pid!, c.node(2).proc!.pid!];
  const t0 = performance.now();
  const timer = setInterval(() => pids.forEach((p, i) => (peaks[i] = Math.max(peaks[i] ?? 0, rss(p)))), 50);
  try {
    const child = spawn(
      process.execPath,
      [BIN('lr'), '--profile', c.profile(1), 'exec', device, `getfile "${src}"`, '--out', out, '--json'],
      { env: { ...process.env, ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    const r = code === 0 ? (JSON.parse(stdout) as { size: number; status: string }) : null;
    if (!r || r.size !== SIZE) throw new Error(`getfile on ${device} failed (exit ${code}): ${stderr || stdout}`);
    return (performance.now() - t0) / 1000;
  } finally {
    clearInterval(timer);
  }
}

/** Stops node i and starts it again with `node --cpu-prof` (same data, same NATS server). */
async function restartProfiled(c: LrCluster, i: number, dir: string): Promise<void> {
  await c.killNode(i, 'SIGTERM');
  const n = c.node(i);
  const args = [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    BIN('lr-server'),
    'start',
    '--data',
    n.dataDir,
    '--nats',
    c.nats.urls[i - 1] as string,
    '--nats-replicas',
    '3',
    ...c.nats.startArgs,
  ];
  n.proc = await new Promise((res, rej) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...c.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }) as ChildProcess & { output: () => string };
    let out = '';
    child.output = () => out;
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/listening/.test(out)) res(child);
    });
    child.on('exit', (code) => rej(new Error(`node ${i} exited with ${code}: ${out}`)));
  });
}

export async function benchClusterGetfile(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'lr-bench-cluster-getfile-'));
  const src = join(work, 'random.bin');
  const fd = openSync(src, 'w');
  for (let done = 0; done < SIZE; done += 8 * MiB) writeSync(fd, randomBytes(Math.min(8 * MiB, SIZE - done)));
  closeSync(fd);
  const c = await LrCluster.start(2, { insecure: true }); // plain NATS on loopback, as the `cluster` bench
  const prof = process.env.BENCH_CPU_PROF;
  // --cpu-prof is refused in NODE_OPTIONS: the nodes are started again, under the profiler.
  if (prof) for (const i of [1, 2]) await restartProfiled(c, i, prof);
  const one: number[] = [];
  const two: number[] = [];
  const peaks: number[] = [];
  try {
    await c.addAgent(1, 'near');
    await c.addAgent(2, 'far');
    const base = [rss(c.node(1).proc!.pid!), rss(c.node(2).proc!.pid!)];
    // CPU per process and path: on a loaded 2-core machine the wall time follows the CPU the path costs.
    const procs: Record<string, number> = {
      'node 1': c.node(1).proc!.pid!,
      'node 2': c.node(2).proc!.pid!,
      'agent near': c.agents[0]!.pid!,
      'agent far': c.agents[1]!.pid!,
    };
    c.nats.pids().forEach((p, i) => (procs[`nats-server ${i + 1}`] = p));
    const cpu: Record<'near' | 'far', Record<string, number>> = { near: {}, far: {} };
    for (let i = 0; i < RUNS; i++) {
      for (const [device, into] of [
        ['near', one],
        ['far', two],
      ] as const) {
        const out = join(work, `${device}-${i}`);
        mkdirSync(out);
        const before = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, cpuSeconds(p)]));
        into.push(await getfile(c, device, src, out, peaks));
        for (const [k, p] of Object.entries(procs))
          cpu[device][k] = (cpu[device][k] ?? 0) + (cpuSeconds(p) - (before[k] as number)) / RUNS;
        rmSync(out, { recursive: true, force: true });
      }
    }
    const cpuRow = (k: string) => `| ${k} | ${(cpu.near[k] ?? 0).toFixed(2)} s | ${(cpu.far[k] ?? 0).toFixed(2)} s |`;
    const total = (d: 'near' | 'far') => Object.values(cpu[d]).reduce((a, b) => a + b, 0);
    const mib = SIZE / MiB;
    const rate = (s: number) => `${(SIZE / 1e6 / s).toFixed(0)} MB/s (${(mib / s).toFixed(0)} MiB/s)`;
    const ratio = median(one) / median(two);
    const mb = (n: number | undefined) => `${((n ?? 0) / MiB).toFixed(0)} MB`;
    return [
      `### Cluster: getfile through two nodes against one (${mib.toFixed(0)} MiB random file, median of ${RUNS} runs each, interleaved, analyst on node 1)`,
      '',
      '| path | median time | throughput |',
      '|---|---|---|',
      `| analyst → node 1 → agent on node 1 | ${median(one).toFixed(2)} s | ${rate(median(one))} |`,
      `| analyst → node 1 → NATS → node 2 → agent on node 2 | ${median(two).toFixed(2)} s | ${rate(median(two))} |`,
      `| **throughput ratio** (two nodes / one, goal ≥ 0.7×) | | **${ratio.toFixed(2)}×** ${ratio >= 0.7 ? '✅' : '❌'} |`,
      '',
      `Runs: one node ${one.map((x) => x.toFixed(2)).join(', ')} s; two nodes ${two.map((x) => x.toFixed(2)).join(', ')} s. ` +
        `RSS node 1 ${mb(base[0])} → peak ${mb(peaks[0])}, node 2 ${mb(base[1])} → peak ${mb(peaks[1])} (over all runs). SHA-256 checked by agent and client in every run.`,
      '',
      'CPU per transfer (mean of the runs; the `lr` client is the same process on both paths and not counted):',
      '',
      '| process | one node | two nodes |',
      '|---|---|---|',
      ...Object.keys(procs).map(cpuRow),
      `| **total** | **${total('near').toFixed(2)} s** | **${total('far').toFixed(2)} s** |`,
      '',
    ].join('\n');
  } finally {
    await c.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
