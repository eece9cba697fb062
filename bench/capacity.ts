/**
 * Service capacity: 1 000, 5 000 and 10 000 agents speaking the real agent protocol (from a few
 * processes) connected to one service: the service's memory per idle agent connection and its CPU use at
 * idle. Devices are seeded straight into the service database (enrollment is not what is measured); the
 * connections, TLS handshakes, challenge signatures and pings are the real ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, freePort, run, start, stop } from '../test/integration/harness.js';
import { seedFakeDevices } from './lib.js';

const CLOCK_TICKS = 100;

function rss(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchCapacity(): Promise<string> {
  const sizes = (process.env.BENCH_AGENTS ?? '1000,5000,10000').split(',').map(Number);
  const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
  const rows: string[] = [];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'lr-bench-cap-'));
    const dataDir = join(dir, 'server');
    const port = await freePort();
    await run('lr-server', ['init', '--data', dataDir, '--listen', `127.0.0.1:${port}`]);
    const devices = seedFakeDevices(join(dataDir, 'lr.db'), n);
    const server = await start('lr-server', ['start', '--data', dataDir], /listening/, { LR_LOG_LEVEL: 'warn' });
    const workers: ChildProcess[] = [];
    try {
      await sleep(1000);
      const base = rss(server.pid!);
      const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
      const per = Math.ceil(n / 4);
      const t0 = Date.now();
      await Promise.all(
        [0, 1, 2, 3].map(
          (k) =>
            new Promise<void>((resolve, reject) => {
              const slice = devices.slice(k * per, (k + 1) * per);
              const w = spawn(
                process.execPath,
                [join(ROOT, 'scripts', 'run-ts.mjs'), join(ROOT, 'bench', 'fake-agents.ts')],
                { stdio: ['pipe', 'pipe', 'inherit'] },
              );
              workers.push(w);
              w.stdout!.on('data', (d: Buffer) => {
                if (/done (\d+)/.test(d.toString())) resolve();
              });
              w.on('exit', (code) => reject(new Error(`fake agents exited ${code}`)));
              w.stdin!.end(JSON.stringify({ url: `wss://127.0.0.1:${port}`, ca, devices: slice }));
            }),
        ),
      );
      const connectSecs = (Date.now() - t0) / 1000;
      const profile = join(dataDir, 'admin.profile.json');
      const list = await run('lr', ['--profile', profile, 'devices', '--json'], { timeoutMs: 120_000 });
      const online = (JSON.parse(list.stdout) as { online: boolean }[]).filter((d) => d.online).length;
      await sleep(5000); // let connection set-up garbage settle
      const c0 = cpuSeconds(server.pid!);
      await sleep(idleSeconds * 1000);
      const cpu = (cpuSeconds(server.pid!) - c0) / idleSeconds;
      const after = rss(server.pid!);
      const perAgent = (after - base) / n;
      rows.push(
        `| ${n.toLocaleString('en')} | ${online.toLocaleString('en')} | ${connectSecs.toFixed(1)} s | ${(base / 1024 ** 2).toFixed(0)} MB → ${(after / 1024 ** 2).toFixed(0)} MB | **${(perAgent / 1024).toFixed(1)} KB** ${perAgent < 50 * 1024 ? '✅' : '❌'} | **${(cpu * 100).toFixed(1)} %** ${cpu < 0.05 ? '✅' : '❌'} |`,
      );
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      await stop(server);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return [
    `### Service capacity: idle agents on one service node (real agent protocol, ${idleSeconds} s idle window)`,
    '',
    '| agents | online per `lr devices` | time to connect all | service RSS before → after | memory per agent (goal < 50 KB) | service CPU at idle, one core (goal < 5 %) |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Peer: Velociraptor publishes 10 000 endpoints on a 2-vCPU, 8 GB server, and under 400 MB at 2 500.',
    '',
  ].join('\n');
}

export { BIN };
