/**
 * The cost of a cluster, on a real 3-server NATS cluster and 3 `lr-server` nodes (loopback).
 *  - Round trip through two nodes against one: an analyst on node 1 runs `dir` (1 000 times, alternating)
 *    on an agent attached to node 1 and on one attached to node 2 (the job and its output then cross NATS).
 *    Goal: p50 through two nodes ≤ 1.5× one node.
 *  - Idle agents held across 3 nodes: 30 000 devices speaking the real agent protocol (TLS, signed
 *    challenge, pings), a third sent to each node; every node's RSS and CPU at idle, and how many devices
 *    node 1 lists online (presence shared through JetStream KV). Goal: 30 000.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleClient } from '../src/client/console-client.js';
import { profileSchema } from '../src/node/profile.js';
import { LrCluster } from '../test/cluster/lr-cluster.js';
import { ROOT, run } from '../test/integration/harness.js';
import { median, percentile, seedFakeDevices } from './lib.js';

const CLOCK_TICKS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

function rss(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function roundTrip(): Promise<string> {
  const rounds = Number(process.env.BENCH_DIR_ROUNDS ?? 1000);
  // plain NATS (--nats-insecure): figures comparable with earlier runs
  const c = await LrCluster.start(3, { insecure: true });
  try {
    await c.addAgent(1, 'near');
    await c.addAgent(2, 'far');
    const small = join(c.dir, 'small');
    mkdirSync(small);
    for (let i = 0; i < 20; i++) writeFileSync(join(small, `f${i}.txt`), 'x');
    const profile = { ...profileSchema.parse(JSON.parse(readFileSync(c.profile(1), 'utf8'))), urls: undefined };
    const client = await ConsoleClient.connect(profile);
    const near = await client.openSession('near');
    const far = await client.openSession('far');
    const once = async (sessionId: string) => {
      const t = performance.now();
      const o = await client.run(sessionId, `dir "${small}"`, {}).outcome;
      if (o.status !== 'completed') throw new Error(`dir: ${o.status} ${o.error ?? ''}`);
      return performance.now() - t;
    };
    for (let i = 0; i < 50; i++) (await once(near.id), await once(far.id)); // warm-up
    const one: number[] = [];
    const two: number[] = [];
    for (let i = 0; i < rounds; i++) {
      one.push(await once(near.id));
      two.push(await once(far.id));
    }
    client.close();
    const ratio = median(two) / median(one);
    return [
      `### Cluster: \`dir\` round trip through two nodes against one (${rounds}× each, interleaved, analyst on node 1)`,
      '',
      '| path | p50 / p99 (ms) |',
      '|---|---|',
      `| analyst → node 1 → agent on node 1 | ${fmt(median(one))} / ${fmt(percentile(one, 99))} |`,
      `| analyst → node 1 → NATS → node 2 → agent on node 2 | ${fmt(median(two))} / ${fmt(percentile(two, 99))} |`,
      `| **ratio of p50** (goal ≤ 1.5×) | **${ratio.toFixed(2)}×** ${ratio <= 1.5 ? '✅' : '❌'} |`,
      '',
    ].join('\n');
  } finally {
    await c.stop();
  }
}

async function idleAgents(): Promise<string> {
  const total = Number(process.env.BENCH_CLUSTER_AGENTS ?? 30_000);
  const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
  let devices: { id: string; key: string }[] = [];
  const t0 = Date.now();
  // The devices are seeded into node 1's database before it starts: it seeds the cluster's shared state.
  const c = await LrCluster.start(3, { insecure: true, seed: (file) => (devices = seedFakeDevices(file, total)) });
  const workers: ChildProcess[] = [];
  try {
    const startSecs = (Date.now() - t0) / 1000;
    const ca = readFileSync(join(c.node(1).dataDir, 'tls', 'ca.pem'), 'utf8');
    const pids = c.nodes.map((n) => n.proc!.pid!);
    const natsPids = c.nats.pids();
    const base = pids.map(rss);
    const natsBase = natsPids.map(rss);
    const perWorker = 5_000;
    const t1 = Date.now();
    const jobs: Promise<void>[] = [];
    for (let k = 0; k * perWorker < total; k++) {
      const slice = devices.slice(k * perWorker, (k + 1) * perWorker);
      const node = c.node((k % 3) + 1);
      jobs.push(
        new Promise<void>((resolve, reject) => {
          const w = spawn(
            process.execPath,
            ['--max-old-space-size=4096', join(ROOT, 'scripts', 'run-ts.mjs'), join(ROOT, 'bench', 'fake-agents.ts')],
            { stdio: ['pipe', 'pipe', 'inherit'] },
          );
          workers.push(w);
          w.stdout!.on('data', (d: Buffer) => {
            if (/done (\d+)/.test(d.toString())) resolve();
          });
          w.on('exit', (code) => reject(new Error(`fake agents exited ${code}`)));
          w.stdin!.end(JSON.stringify({ url: `wss://127.0.0.1:${node.port}`, ca, devices: slice }));
        }),
      );
    }
    await Promise.all(jobs);
    const connectSecs = (Date.now() - t1) / 1000;
    const onlineSeenBy = async (i: number) => {
      const r = await run('lr', ['--profile', c.profile(i), 'devices', '--json'], { env: c.env, timeoutMs: 180_000 });
      const list = JSON.parse(r.stdout) as { online: boolean; node?: string }[];
      const perNode: Record<string, number> = {};
      for (const d of list) if (d.online && d.node) perNode[d.node] = (perNode[d.node] ?? 0) + 1;
      return { online: list.filter((d) => d.online).length, perNode };
    };
    let seen = await onlineSeenBy(1);
    for (let i = 0; i < 30 && seen.online < devices.length; i++) {
      await sleep(2000);
      seen = await onlineSeenBy(1);
    }
    await sleep(5000);
    const c0 = pids.map(cpuSeconds);
    const n0 = natsPids.map(cpuSeconds);
    await sleep(idleSeconds * 1000);
    const cpu = pids.map((p, i) => (cpuSeconds(p) - (c0[i] as number)) / idleSeconds);
    const natsCpu = natsPids.map((p, i) => (cpuSeconds(p) - (n0[i] as number)) / idleSeconds);
    const after = pids.map(rss);
    const natsAfter = natsPids.map(rss);
    const seen3 = await onlineSeenBy(3);
    const rows = c.nodes.map((n, i) => {
      const agents = seen.perNode[n.id] ?? 0;
      const per = agents ? ((after[i] as number) - (base[i] as number)) / agents : 0;
      return `| node ${n.i} (${n.id}) | ${agents.toLocaleString('en')} | ${((base[i] as number) / 1024 ** 2).toFixed(0)} MB → ${((after[i] as number) / 1024 ** 2).toFixed(0)} MB | ${(per / 1024).toFixed(1)} KB | ${((cpu[i] as number) * 100).toFixed(1)} % |`;
    });
    return [
      `### Cluster: idle agents held across 3 nodes (real agent protocol, ${idleSeconds} s idle window)`,
      '',
      `${total.toLocaleString('en')} devices seeded on node 1 and shared through JetStream KV (cluster start ${startSecs.toFixed(0)} s); agents connected in ${connectSecs.toFixed(0)} s, a third to each node.`,
      '',
      '| node | agents on it | RSS before → after | memory per agent | CPU at idle (one core) |',
      '|---|---|---|---|---|',
      ...rows,
      ...natsPids.map(
        (_, i) =>
          `| nats-server ${i + 1} | — | ${((natsBase[i] as number) / 1024 ** 2).toFixed(0)} MB → ${((natsAfter[i] as number) / 1024 ** 2).toFixed(0)} MB | — | ${((natsCpu[i] as number) * 100).toFixed(1)} % |`,
      ),
      '',
      `Online as listed by node 1: **${seen.online.toLocaleString('en')}** / ${total.toLocaleString('en')}; by node 3: ${seen3.online.toLocaleString('en')} (goal: 30 000 ${seen.online >= 30_000 ? '✅' : '❌'}).`,
      '',
    ].join('\n');
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await c.stop();
  }
}

export async function benchCluster(): Promise<string> {
  const parts: string[] = ['## Cluster: 3 NATS servers, 3 service nodes, loopback, this machine (2 cores)', ''];
  if (process.env.BENCH_CLUSTER_SKIP_RTT !== '1') parts.push(await roundTrip());
  if (process.env.BENCH_CLUSTER_SKIP_IDLE !== '1') parts.push(await idleAgents());
  return parts.join('\n');
}
