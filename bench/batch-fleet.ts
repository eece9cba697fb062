/**
 * A fleet for batch measurements: one real service, N devices seeded in its database and connected by
 * lightweight agents (fake-agents.ts, the real agent protocol, answering each command with one record after
 * `delayMs`), one `lr batch run` over all of them, the service's RSS sampled from /proc while it runs.
 * Used by `npm run bench:batch` and by the 50-agent integration test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, createWorld, waitFor } from '../test/integration/harness.js';
import type { BatchRecord } from '../src/shared/wire/batch.js';
import { percentile, seedFakeDevices } from './lib.js';

export function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

export interface FleetRun {
  agents: number;
  concurrency: number;
  batch: BatchRecord;
  /** `lr batch run` exit code (0: every device completed). */
  exitCode: number | null;
  /** Batch created → last device final, from the service's own times. */
  totalMs: number;
  /** Per device: its session's start → its last step's end. */
  p50Ms: number;
  p95Ms: number;
  /** Most devices running at once, from the devices' start and end times. */
  maxRunning: number;
  rssBefore: number;
  rssPeak: number;
  rssAfter: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Most intervals overlapping at one instant. */
function maxOverlap(intervals: [number, number][]): number {
  const events = intervals.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  events.sort((x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number));
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d as number));
  return max;
}

export async function runFleetBatch(opts: {
  agents: number;
  concurrency: number;
  delayMs: number;
  line?: string;
}): Promise<FleetRun> {
  // Session limits above the batch's concurrency, so that the cap measured is the batch's own (the default
  // 10 sessions per user would cap a batch at 10 by itself).
  const w = await createWorld({ maxSessionsPerUser: 1000, maxSessionsPerTenant: 1000 });
  const workers: ChildProcess[] = [];
  try {
    // Devices are seeded with the service stopped (enrollment is not what is measured).
    await w.stopServer();
    const devices = seedFakeDevices(join(w.dataDir, 'lr.db'), opts.agents);
    await w.startServer();
    const pid = w.server!.pid!;
    const ca = readFileSync(join(w.dataDir, 'tls', 'ca.pem'), 'utf8');
    await new Promise<void>((resolve, reject) => {
      const p = spawn(process.execPath, [join(ROOT, 'scripts', 'run-ts.mjs'), join(ROOT, 'bench', 'fake-agents.ts')], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      workers.push(p);
      p.stdout!.on('data', (d: Buffer) => {
        if (/done \d+/.test(d.toString())) resolve();
      });
      p.on('exit', (code) => reject(new Error(`fake agents exited ${code}`)));
      p.stdin!.end(
        JSON.stringify({ url: `wss://127.0.0.1:${w.port}`, ca, devices, answer: { delayMs: opts.delayMs } }),
      );
    });
    await waitFor(
      'every fake agent online',
      async () => (await w.devices()).filter((d) => d.online).length === opts.agents,
      60_000,
      500,
    );
    await sleep(1000); // connection set-up garbage settles
    const rssBefore = rssOf(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(pid))), 50);
    let r;
    try {
      r = await w.lr(
        [
          'batch',
          'run',
          '--filter',
          'name=fake-*',
          '--concurrency',
          String(opts.concurrency),
          '--json',
          opts.line ?? 'processes',
        ],
        undefined,
        { timeoutMs: 300_000 },
      );
    } finally {
      clearInterval(sampler);
    }
    if (!r.stdout.trim().startsWith('{')) throw new Error(`lr batch run: ${r.stderr}`);
    const batch = JSON.parse(r.stdout) as BatchRecord;
    await sleep(2000);
    const rssAfter = rssOf(pid);
    const times = batch.targets.map((t) => t.durationMs ?? NaN);
    const intervals = batch.targets
      .filter((t) => t.startedAt && t.endedAt)
      .map((t) => [Date.parse(t.startedAt!), Date.parse(t.endedAt!)] as [number, number]);
    const lastEnd = Math.max(...intervals.map(([, b]) => b));
    return {
      agents: opts.agents,
      concurrency: opts.concurrency,
      batch,
      exitCode: r.code,
      totalMs: (batch.endedAt ? Date.parse(batch.endedAt) : lastEnd) - Date.parse(batch.createdAt),
      p50Ms: percentile(times, 50),
      p95Ms: percentile(times, 95),
      maxRunning: maxOverlap(intervals),
      rssBefore,
      rssPeak,
      rssAfter,
    };
  } finally {
    for (const p of workers) p.kill('SIGTERM');
    await w.cleanup();
  }
}
