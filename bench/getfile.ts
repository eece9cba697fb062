/**
 * getfile of a 1 GiB random file on loopback, side by side with scp (OpenSSH) of the same file in the same
 * run: wall time per transfer (median of the runs), throughput, their ratio, and the peak RSS of each of
 * our processes. The hash check is part of our time (the agent and the client both hash); scp has none.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../test/integration/harness.js';
import { createWorld, median, startSshd, timeAsync } from './lib.js';

const SIZE = Number(process.env.BENCH_GETFILE_BYTES ?? 1024 ** 3);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function vmHwm(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function runWithPeak(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; peak: number; stderr: string }> {
  return new Promise((res) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let peak = 0;
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setInterval(() => {
      try {
        peak = Math.max(peak, vmHwm(c.pid!));
      } catch {
        /* exited */
      }
    }, 50);
    c.on('close', (code) => {
      clearInterval(t);
      res({ code, peak, stderr });
    });
  });
}

export async function benchGetfile(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'lr-bench-getfile-'));
  const src = join(work, 'random.bin');
  const fd = openSync(src, 'w');
  for (let done = 0; done < SIZE; done += 8 << 20) writeSync(fd, randomBytes(Math.min(8 << 20, SIZE - done)));
  closeSync(fd);
  const sshd = await startSshd();
  const w = await createWorld();
  const agent = await w.addAgent('bench');
  const ours: number[] = [];
  const peer: number[] = [];
  let clientPeak = 0;
  try {
    for (let i = 0; i < RUNS; i++) {
      const outLr = join(work, `lr-${i}`);
      mkdirSync(outLr);
      let r: { code: number | null; peak: number; stderr: string } = { code: null, peak: 0, stderr: '' };
      ours.push(await timeAsync(async () => (r = await runWithPeak(process.execPath, [BIN('lr'), '--profile', w.adminProfile, 'exec', 'bench', `getfile "${src}"`, '--out', outLr]))));
      if (r.code !== 0) throw new Error(`lr getfile failed: ${r.stderr}`);
      clientPeak = Math.max(clientPeak, r.peak);
      rmSync(outLr, { recursive: true });
      const outScp = join(work, `scp-${i}.bin`);
      let s: { code: number | null; peak: number; stderr: string } = { code: null, peak: 0, stderr: '' };
      peer.push(await timeAsync(async () => (s = await runWithPeak('scp', ['-q', ...sshd.clientArgs, `${userInfo().username}@127.0.0.1:${src}`, outScp]))));
      if (s.code !== 0) throw new Error(`scp failed: ${s.stderr}`);
      rmSync(outScp);
    }
    const servicePeak = vmHwm(w.server!.pid!);
    const agentPeak = vmHwm(agent.process.pid!);
    const mib = SIZE / 1024 ** 2;
    const tOurs = median(ours) / 1000;
    const tPeer = median(peer) / 1000;
    const mb = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MB`;
    const cpu = spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).stdout.toString().trim();
    return [
      `### getfile vs scp (${mib.toFixed(0)} MiB random file, loopback, median of ${RUNS} runs each, interleaved)`,
      '',
      '| tool | median time | throughput | peak RSS |',
      '|---|---|---|---|',
      `| \`lr exec DEV "getfile F"\` (SHA-256 on agent and client, TLS on both hops) | ${tOurs.toFixed(2)} s | ${(mib / tOurs).toFixed(0)} MiB/s | client ${mb(clientPeak)}, service ${mb(servicePeak)}, agent ${mb(agentPeak)} |`,
      `| \`scp\` (OpenSSH, loopback) | ${tPeer.toFixed(2)} s | ${(mib / tPeer).toFixed(0)} MiB/s | — |`,
      '',
      `**Throughput ratio (ours / scp): ${(tPeer / tOurs).toFixed(2)}×** (goal ≥ 1.0×). Runs: ours ${ours.map((x) => (x / 1000).toFixed(2)).join(', ')} s; scp ${peer.map((x) => (x / 1000).toFixed(2)).join(', ')} s. CPU: ${cpu}, ${spawnSync('nproc').stdout.toString().trim()} cores.`,
      '',
    ].join('\n');
  } finally {
    await w.cleanup();
    sshd.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
