/**
 * getfile of a 1 GiB random file on loopback, side by side with scp (OpenSSH) of the same file in the same
 * run: wall time per transfer (median of the runs), throughput, their ratio, and the peak RSS of each of
 * our processes. The hash check is part of our time (the agent and the client both hash); scp has none.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../test/integration/harness.js';
import { createWorld, median, startSshd, timeAsync } from './lib.js';

const SIZE = Number(process.env.BENCH_GETFILE_BYTES ?? 1024 ** 3);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** CPU seconds of a process (`self`: user + system) and of its children it has waited for (`children`), from /proc. */
function cpuSeconds(pid: number | 'self'): { self: number; children: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ')
    .map(Number);
  // After the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17 (proc(5)); 100 ticks a second.
  const f = (n: number) => (fields[n - 3] as number) / 100;
  return { self: f(14) + f(15), children: f(16) + f(17) };
}

/** The private sshd's pid (bench/lib.ts starts it; found by the config file its command line names). */
function sshdPid(clientArgs: string[]): number | null {
  const key = clientArgs[clientArgs.indexOf('-i') + 1] ?? '';
  const config = join(key, '..', 'sshd_config');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // sshd rewrites its process title ("sshd: /usr/sbin/sshd -D -e -f CONFIG [listener] …"): a substring.
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(config) && !cmdline.includes('sshd-session')) return Number(entry);
    } catch {
      /* gone */
    }
  }
  return null;
}

function vmHwm(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function runWithPeak(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; peak: number; stderr: string }> {
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
  // CPU seconds of each side, summed over the runs: ours = client (reaped by us) + service + agent; scp =
  // scp and its ssh (reaped by us) + the sshd side (the session's sshd and sftp-server, reaped by sshd).
  const cpuUse = { client: 0, service: 0, agent: 0, scp: 0, sshd: 0 };
  const sshd1 = sshdPid(sshd.clientArgs);
  const sshdCpu = () => {
    if (sshd1 === null) return 0;
    const c = cpuSeconds(sshd1);
    return c.self + c.children;
  };
  try {
    for (let i = 0; i < RUNS; i++) {
      const outLr = join(work, `lr-${i}`);
      mkdirSync(outLr);
      let r: { code: number | null; peak: number; stderr: string } = { code: null, peak: 0, stderr: '' };
      const before = {
        me: cpuSeconds('self').children,
        service: cpuSeconds(w.server!.pid!).self,
        agent: cpuSeconds(agent.process.pid!).self,
      };
      ours.push(
        await timeAsync(
          async () =>
            (r = await runWithPeak(process.execPath, [
              BIN('lr'),
              '--profile',
              w.adminProfile,
              'exec',
              'bench',
              `getfile "${src}"`,
              '--out',
              outLr,
            ])),
        ),
      );
      if (r.code !== 0) throw new Error(`lr getfile failed: ${r.stderr}`);
      cpuUse.client += cpuSeconds('self').children - before.me;
      cpuUse.service += cpuSeconds(w.server!.pid!).self - before.service;
      cpuUse.agent += cpuSeconds(agent.process.pid!).self - before.agent;
      clientPeak = Math.max(clientPeak, r.peak);
      rmSync(outLr, { recursive: true });
      const outScp = join(work, `scp-${i}.bin`);
      let s: { code: number | null; peak: number; stderr: string } = { code: null, peak: 0, stderr: '' };
      const beforeScp = { me: cpuSeconds('self').children, sshd: sshdCpu() };
      peer.push(
        await timeAsync(
          async () =>
            (s = await runWithPeak('scp', [
              '-q',
              ...sshd.clientArgs,
              `${userInfo().username}@127.0.0.1:${src}`,
              outScp,
            ])),
        ),
      );
      if (s.code !== 0) throw new Error(`scp failed: ${s.stderr}`);
      // sshd reaps its session's processes a moment after the client is gone.
      await new Promise((res) => setTimeout(res, 300));
      cpuUse.scp += cpuSeconds('self').children - beforeScp.me;
      cpuUse.sshd += sshdCpu() - beforeScp.sshd;
      rmSync(outScp);
    }
    const servicePeak = vmHwm(w.server!.pid!);
    const agentPeak = vmHwm(agent.process.pid!);
    const mib = SIZE / 1024 ** 2;
    const tOurs = median(ours) / 1000;
    const tPeer = median(peer) / 1000;
    const mb = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MB`;
    const perGiB = (seconds: number) => `${(seconds / RUNS / (SIZE / 1024 ** 3)).toFixed(2)} s`;
    const cpu = spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).stdout.toString().trim();
    return [
      `### getfile vs scp (${mib.toFixed(0)} MiB random file, loopback, median of ${RUNS} runs each, interleaved)`,
      '',
      '| tool | median time | throughput | peak RSS |',
      '|---|---|---|---|',
      `| \`lr exec DEV "getfile F"\` (SHA-256 on agent and client, TLS on both hops) | ${tOurs.toFixed(2)} s | ${(mib / tOurs).toFixed(0)} MiB/s | client ${mb(clientPeak)}, service ${mb(servicePeak)}, agent ${mb(agentPeak)} |`,
      `| \`scp\` (OpenSSH, loopback) | ${tPeer.toFixed(2)} s | ${(mib / tPeer).toFixed(0)} MiB/s | — |`,
      '',
      `CPU seconds per GiB moved (user + system, mean of the runs): ours ${perGiB(cpuUse.client + cpuUse.service + cpuUse.agent)} (client ${perGiB(cpuUse.client)}, service ${perGiB(cpuUse.service)}, agent ${perGiB(cpuUse.agent)}); scp ${perGiB(cpuUse.scp + cpuUse.sshd)} (scp + ssh ${perGiB(cpuUse.scp)}, sshd side ${perGiB(cpuUse.sshd)}${sshd1 === null ? ': sshd not found, not counted' : ''}).`,
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
