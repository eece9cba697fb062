// Flow control between service nodes: "a command or a file stream from an analyst on node B
// reaches the agent connected to node A over NATS subjects, with flow control for transfers (no unbounded
// buffering anywhere)". Real processes only: a 3-server NATS cluster, 3 `lr-server` nodes, real agents on
// nodes 2 and 3, the analyst on node 1 (the `lr` CLI, or a ConsoleClient whose socket it pauses).
//
// What bounds memory is the agent's credit window (8 MiB of a file, 1 MiB of other output): node 1 acks
// only what its analyst's socket drained, the ack travels back over NATS to node 2, and the agent waits
// for it. So a node never holds more than a window (plus the analyst socket's 512 KiB high-water mark) of
// one job, whatever the speed of the analyst, NATS or the agent. The RSS bounds below are set well above
// that (a few copies of a window, the TLS and NATS buffers, V8's garbage between collections) and well
// below what a pile-up would show: a transfer that buffered instead of waiting would hold hundreds of MB.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { natsSkipReason } from '../cluster/nats-cluster.js';
import { ClusterMac } from '../../src/server/cluster/cluster-key.js';
import { LrCluster } from '../cluster/lr-cluster.js';
import { BIN, waitFor } from './harness.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { runGetfile } from '../../src/client/getfile-runner.js';
import { profileSchema } from '../../src/node/profile.js';
import { Logger } from '../../src/node/log.js';
import { decodeDataFrame, encodeDataFrame } from '../../src/shared/wire/protocol.js';
import { AgentHub } from '../../src/server/agent-hub.js';
import type { Store } from '../../src/server/store.js';
import { ClusterAgents } from '../../src/server/cluster/agent-router.js';
import { connectCluster } from '../../src/server/cluster/cluster-context.js';
import type { NodeRegistry } from '../../src/server/cluster/node-registry.js';
import { describeNeeds } from '../needs.js';

const MiB = 1024 * 1024;
/** Growth of a node's RSS over its baseline while a transfer or a flood runs (see the header). */
const NODE_RSS_GROWTH_LIMIT = 100 * MiB;
const mb = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Bytes a process read through read()/pread() so far: files and sockets alike. */
function readChars(pid: number): number {
  return Number(/rchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
}

/** CPU time a process used so far (user + system), in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Samples VmRSS of some processes every 50 ms: the baseline (at start) and the peak of each. */
class RssWatch {
  readonly base: Record<string, number> = {};
  readonly peak: Record<string, number> = {};
  /** Every sample (ms since the watch started, RSS by process), to compare parts of a run. */
  readonly samples: { at: number; rss: Record<string, number> }[] = [];
  private readonly t0 = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: Record<string, number>) {
    for (const [name, pid] of Object.entries(pids)) this.base[name] = this.peak[name] = procStatus(pid, 'VmRSS');
    this.timer = setInterval(() => this.sample(), 50);
  }

  private sample(): void {
    const rss: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      try {
        rss[name] = procStatus(pid, 'VmRSS');
        this.peak[name] = Math.max(this.peak[name] ?? 0, rss[name]);
      } catch {
        /* exited */
      }
    }
    this.samples.push({ at: Date.now() - this.t0, rss });
  }

  /** The peak of one process over the samples taken before `ms` (since the watch started). */
  peakBefore(name: string, ms: number): number {
    return Math.max(this.base[name] ?? 0, ...this.samples.filter((x) => x.at < ms).map((x) => x.rss[name] ?? 0));
  }

  /** Peak minus baseline of each process, in bytes. */
  growth(): Record<string, number> {
    this.sample();
    return Object.fromEntries(Object.keys(this.pids).map((n) => [n, (this.peak[n] ?? 0) - (this.base[n] ?? 0)]));
  }

  report(): string {
    const g = this.growth();
    return Object.keys(this.pids)
      .map((n) => `${n} ${mb(this.base[n] ?? 0)} → peak ${mb(this.peak[n] ?? 0)} MB (+${mb(g[n] ?? 0)})`)
      .join('; ');
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Writes `bytes` of random data without holding them in memory; returns their SHA-256. */
function randomFile(path: string, bytes: number): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; done += 8 * MiB) {
      const chunk = randomBytes(Math.min(8 * MiB, bytes - done));
      hash.update(chunk);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describeNeeds(natsSkipReason)('cluster: flow control of transfers and output between service nodes', () => {
  let c: LrCluster;
  let files: string;
  let alpha: { deviceId: string; proc: import('node:child_process').ChildProcess }; // its agent on node 2
  let bravo: { deviceId: string; proc: import('node:child_process').ChildProcess }; // its agent on node 3
  const pid = (i: number) => c.node(i).proc?.pid as number;

  /** A console on node 1 only (no failover: the analyst's node is the one under test). */
  const console1 = async () => {
    const base = profileSchema.parse(JSON.parse(readFileSync(c.profile(1), 'utf8')));
    return ConsoleClient.connect({ ...base, urls: undefined });
  };

  beforeAll(async () => {
    // Plain NATS (--nats-insecure): what is measured here is flow control and memory, comparable with earlier runs.
    c = await LrCluster.start(3, { insecure: true });
    files = join(c.dir, 'files');
    mkdirSync(files, { recursive: true });
    alpha = await c.addAgent(2, 'alpha');
    bravo = await c.addAgent(3, 'bravo');
    await waitFor(
      'agents online on nodes 2 and 3, seen from node 1',
      async () => {
        const d = await c.devices(1);
        const a = d.find((x) => x.id === alpha.deviceId);
        const b = d.find((x) => x.id === bravo.deviceId);
        return a?.online && b?.online && a.node === c.node(2).id && b.node === c.node(3).id;
      },
      30_000,
    );
  }, 240_000);

  afterAll(async () => {
    await c?.stop();
  }, 60_000);

  it('1. getfile of 1 GiB from the agent on node 2 through node 1: right SHA-256, nodes 1 and 2 each within 100 MB of their RSS baseline', async () => {
    const src = join(files, 'one-gib.bin');
    const expected = randomFile(src, 1024 * MiB);
    const out = join(c.dir, 'out1');
    mkdirSync(out);
    const watch = new RssWatch({ node1: pid(1), node2: pid(2) });
    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      [BIN('lr'), '--profile', c.profile(1), 'exec', 'alpha', `getfile "${src}"`, '--out', out, '--json'],
      {
        env: { ...process.env, ...c.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    const secs = (Date.now() - t0) / 1000;
    watch.stop();
    rmSync(src);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { status: string; sha256: string; file: string; size: number };
    expect(result.size).toBe(1024 * MiB);
    expect(result.sha256).toBe(expected);
    expect(await sha256File(result.file)).toBe(expected);
    rmSync(out, { recursive: true, force: true });
    const growth = watch.growth();
    // Bounded means flat, not merely small: the second half of the file (at a steady rate, the second half
    // of the time) adds little to the peak the first half reached. A node that kept part of what passed
    // through it would grow with the bytes, by hundreds of MB over the second half.
    const half = (secs * 1000) / 2;
    const secondHalf = {
      node1: (watch.peak.node1 ?? 0) - watch.peakBefore('node1', half),
      node2: (watch.peak.node2 ?? 0) - watch.peakBefore('node2', half),
    };
    console.log(
      `[cluster-transfer] 1 GiB getfile node 2 → node 1 in ${secs.toFixed(1)} s (${Math.round(1024 / secs)} MB/s); RSS ${watch.report()}; ` +
        `added over the second half node1 +${mb(secondHalf.node1)} node2 +${mb(secondHalf.node2)} MB; VmHWM node1 ${mb(procStatus(pid(1), 'VmHWM'))} MB, node2 ${mb(procStatus(pid(2), 'VmHWM'))} MB`,
    );
    expect(growth.node1).toBeLessThan(NODE_RSS_GROWTH_LIMIT);
    expect(growth.node2).toBeLessThan(NODE_RSS_GROWTH_LIMIT);
    expect(secondHalf.node1).toBeLessThan(32 * MiB);
    expect(secondHalf.node2).toBeLessThan(32 * MiB);
  }, 180_000);

  it('2. a slow analyst: the console stops reading for 10 s mid-transfer; the agent on node 2 stops sending, nodes 1 and 2 hold nothing more, and the file completes with the right hash', async () => {
    const size = 400 * MiB;
    const src = join(files, 'slow.bin');
    const expected = randomFile(src, size);
    const out = join(c.dir, 'out2');
    mkdirSync(out);
    const client = await console1();
    try {
      const session = await client.openSession(alpha.deviceId);
      const watch = new RssWatch({ node1: pid(1), node2: pid(2) });
      let received = 0;
      let onPause: () => void = () => undefined;
      const paused = new Promise<void>((r) => (onPause = r));
      let isPaused = false;
      const transfer = runGetfile({
        client,
        sessionId: session.id,
        deviceId: alpha.deviceId,
        path: src,
        outDir: out,
        onProgress: (p) => {
          received = p.bytes;
          if (!isPaused && p.bytes >= 100 * MiB) {
            // The analyst stops reading its socket: the service's frames wait in the TCP buffers, then in
            // node 1's socket buffer, and node 1 stops acking the agent.
            isPaused = true;
            client.pause();
            onPause();
          }
        },
      });
      await paused;
      const atPause = received;
      const beforePause = watch.growth();
      // What was in flight when the analyst stopped lands in the buffers on the way; then nothing moves.
      await sleep(2_000);
      const agentPid = alpha.proc.pid as number;
      const mark = {
        agentRead: readChars(agentPid),
        agentCpu: cpuMs(agentPid),
        node1Read: readChars(pid(1)),
        node2Read: readChars(pid(2)),
        node1Cpu: cpuMs(pid(1)),
      };
      await sleep(8_000);
      const during = {
        agentRead: readChars(agentPid) - mark.agentRead,
        agentCpu: cpuMs(agentPid) - mark.agentCpu,
        node1Read: readChars(pid(1)) - mark.node1Read,
        node2Read: readChars(pid(2)) - mark.node2Read,
        node1Cpu: cpuMs(pid(1)) - mark.node1Cpu,
      };
      const duringPause = watch.growth();
      expect(received).toBe(atPause); // the analyst really read nothing meanwhile
      client.resume();
      const r = await transfer;
      watch.stop();
      rmSync(src);
      expect(r.ok, r.ok ? '' : JSON.stringify(r.outcome)).toBe(true);
      if (!r.ok) return;
      expect(r.download.sha256).toBe(expected);
      expect(await sha256File(r.download.file)).toBe(expected);
      const growth = watch.growth();
      console.log(
        `[cluster-transfer] slow analyst: paused at ${mb(atPause)} MB of ${mb(size)}; over 8 s of the pause the agent read ${mb(during.agentRead)} MB ` +
          `(cpu ${during.agentCpu} ms), node 1 read ${mb(during.node1Read)} MB (cpu ${during.node1Cpu} ms), node 2 read ${mb(during.node2Read)} MB; ` +
          `RSS growth before the pause node1 +${mb(beforePause.node1 ?? 0)} node2 +${mb(beforePause.node2 ?? 0)}, by the end of the pause node1 +${mb(duringPause.node1 ?? 0)} node2 +${mb(duringPause.node2 ?? 0)} MB; whole transfer ${watch.report()}`,
      );
      // The agent waits for its window: it reads (and sends) nothing while the analyst does not read, where
      // unbounded it would have read the rest of the file (300 MB) in these 8 s.
      expect(during.agentRead).toBeLessThan(1 * MiB);
      // Neither node receives anything meanwhile (only NATS heartbeats and presence traffic): nothing piles
      // up in node 1's NATS subscription, nor on its way from node 2.
      expect(during.node1Read).toBeLessThan(1 * MiB);
      expect(during.node2Read).toBeLessThan(1 * MiB);
      for (const g of [duringPause, growth]) {
        expect(g.node1).toBeLessThan(NODE_RSS_GROWTH_LIMIT);
        expect(g.node2).toBeLessThan(NODE_RSS_GROWTH_LIMIT);
      }
    } finally {
      client.close();
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);

  it('3. a records flood: findfile over 100 000 files on the agent of node 3, run from node 1 with the console paused: the agent waits, RSS stays bounded, every record arrives', async () => {
    // 100 folders of 1000 files with 180-character names: each record is ~330 bytes of JSON, 33 MB in all
    // (far more than the 1 MiB window plus every socket buffer on the way).
    const tree = join(files, 'tree');
    const stem = 'f'.repeat(170);
    for (let d = 0; d < 100; d++) {
      const dir = join(tree, `d${String(d).padStart(3, '0')}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 1000; f++) closeSync(openSync(join(dir, `${stem}${String(f).padStart(6, '0')}.txt`), 'w'));
    }
    const client = await console1();
    try {
      const session = await client.openSession(bravo.deviceId);
      const watch = new RssWatch({ node1: pid(1), node3: pid(3) });
      let records = 0;
      let bytes = 0;
      let onFirst: () => void = () => undefined;
      const first = new Promise<void>((r) => (onFirst = r));
      const run = client.run(session.id, `findfile "*.txt" -path "${tree}"`, {
        onRecords: (rs) => {
          if (records === 0) {
            client.pause();
            onFirst();
          }
          records += rs.length;
          for (const r of rs) bytes += JSON.stringify(r).length;
        },
      });
      await first;
      await sleep(2_000);
      const atPause = records;
      const agentPid = bravo.proc.pid as number;
      const mark = { agentCpu: cpuMs(agentPid), node1Read: readChars(pid(1)), node3Read: readChars(pid(3)) };
      await sleep(8_000);
      const during = {
        agentCpu: cpuMs(agentPid) - mark.agentCpu,
        node1Read: readChars(pid(1)) - mark.node1Read,
        node3Read: readChars(pid(3)) - mark.node3Read,
      };
      const duringPause = watch.growth();
      client.resume();
      const outcome = await run.outcome;
      watch.stop();
      expect(outcome.status, outcome.error).toBe('completed');
      expect(records).toBe(100_000);
      console.log(
        `[cluster-transfer] records flood: ${records} records (${mb(bytes)} MB of JSON); ${atPause} had arrived when the analyst stopped reading; over 8 s of the pause ` +
          `the agent used ${during.agentCpu} ms of CPU, node 1 read ${mb(during.node1Read)} MB, node 3 read ${mb(during.node3Read)} MB; ` +
          `RSS growth by the end of the pause node1 +${mb(duringPause.node1 ?? 0)} node3 +${mb(duringPause.node3 ?? 0)} MB; whole command ${watch.report()}`,
      );
      // Most of the output was still to come when the analyst stopped: the agent held it back.
      expect(atPause).toBeLessThan(records / 2);
      expect(during.agentCpu).toBeLessThan(500);
      expect(during.node1Read).toBeLessThan(1 * MiB);
      expect(during.node3Read).toBeLessThan(1 * MiB);
      for (const g of [duringPause, watch.growth()]) {
        expect(g.node1).toBeLessThan(NODE_RSS_GROWTH_LIMIT);
        expect(g.node3).toBeLessThan(NODE_RSS_GROWTH_LIMIT);
      }
    } finally {
      client.close();
      rmSync(tree, { recursive: true, force: true });
    }
  }, 180_000);

  it('4. no message over NATS max_payload: oversized data frames, record batches, single records and text from an agent are cut to fit, and the connection stays up', async () => {
    // A router of its own ("probe-a") on the cluster's NATS, publishing job output for a node "probe-b"
    // whose subject this test reads raw: what goes on the wire is what is checked. Its hub has no agents
    // and the node registry is a stand-in that says every node is alive (neither is under test here).
    const log = new Logger('probe', 'error');
    // A message the router could not publish is logged (the node goes on): none may be.
    const unsent: string[] = [];
    log.tap((_level, msg, fields) => {
      if (msg === 'cluster message not sent') unsent.push(JSON.stringify(fields));
    });
    const ctx = await connectCluster(
      [c.nats.urls[0] as string],
      'probe-a',
      log,
      ClusterMac.fromDataDir(c.node(1).dataDir),
      { security: c.nats.security },
    );
    const hub = new AgentHub({} as Store, log);
    const nodes = Object.assign(new EventEmitter(), { isAlive: () => true }) as unknown as NodeRegistry;
    const router = await ClusterAgents.start(ctx, hub, nodes);
    const reader = await c.nats.connect(0);
    const maxPayload = ctx.nc.info?.max_payload ?? 0;
    try {
      expect(maxPayload).toBe(MiB); // nats-server's default
      const got: { kind: string; size: number; data: Uint8Array }[] = [];
      const sub = reader.subscribe('lr.out.probe-b', {
        callback: (_err, msg) => {
          got.push({ kind: msg.headers?.get('k') ?? '', size: msg.data.length, data: msg.data });
        },
      });
      await reader.flush();
      const jobId = 'job-max-payload';
      // A data frame as big as an agent's link lets through (1 MiB in all), where agents send 256 KiB.
      const payload = randomBytes(MiB - 64);
      const frame = Buffer.from(encodeDataFrame(jobId, 5 * MiB, payload));
      // What the router must avoid: that frame with its headers is over max_payload, and publish() throws.
      const h = natsHeaders();
      h.set('from', 'probe-a');
      h.set('job', jobId);
      h.set('k', 'data');
      expect(() => ctx.nc.publish('lr.out.probe-b', frame, { headers: h })).toThrow(/max_payload/);
      router.toJobOwner('probe-b', jobId, { type: 'data', frame, bytes: payload.length });
      // 3000 records of ~500 bytes (1.5 MB): split between records. One record of 1 MB: replaced.
      const many = Array.from({ length: 3000 }, (_, i) => ({ i, path: `/x/${'p'.repeat(480)}` }));
      router.toJobOwner('probe-b', jobId, { type: 'records', json: JSON.stringify(many) });
      router.toJobOwner('probe-b', jobId, { type: 'records', json: JSON.stringify([{ blob: 'b'.repeat(1_040_000) }]) });
      // Text of 4-byte characters (surrogate pairs): 1.2 MB of UTF-8, cut between characters.
      const text = '😀'.repeat(300_000) + 'end';
      router.toJobOwner('probe-b', jobId, { type: 'text', text });
      router.toJobOwner('probe-b', jobId, { type: 'end', status: 'completed' });
      await waitFor('the end message', async () => got.some((m) => m.kind === 'end'), 10_000, 20);
      sub.unsubscribe();
      expect(ctx.nc.isClosed()).toBe(false);
      expect(unsent).toEqual([]);
      // Bodies leave room for the headers (from, job, k: under 200 bytes), so each whole message fits too.
      for (const m of got) expect(m.size).toBeLessThanOrEqual(maxPayload - 4096);
      // Data: consecutive frames of the same job that rebuild the payload at its offset.
      const data = got.filter((m) => m.kind === 'data').map((m) => decodeDataFrame(m.data));
      expect(data.length).toBeGreaterThan(1);
      let at = 5 * MiB;
      const parts: Uint8Array[] = [];
      for (const d of data) {
        if ('error' in d) throw new Error(d.error);
        expect(d.jobId).toBe(jobId);
        expect(d.offset).toBe(at);
        at += d.payload.length;
        parts.push(d.payload);
      }
      expect(Buffer.concat(parts).equals(payload)).toBe(true);
      const text8 = (m: { data: Uint8Array }) => Buffer.from(m.data).toString('utf8');
      const batches = got
        .filter((m) => m.kind === 'records')
        .map((m) => JSON.parse(text8(m)) as Record<string, unknown>[]);
      expect(batches.length).toBeGreaterThan(2);
      expect(batches.slice(0, -1).flat()).toEqual(many);
      expect(batches.at(-1)).toEqual([
        { error: expect.stringMatching(/^record too large to pass between service nodes/) as unknown },
      ]);
      const texts = got.filter((m) => m.kind === 'text');
      expect(texts.length).toBeGreaterThan(1);
      expect(texts.map(text8).join('')).toBe(text);
      console.log(
        `[cluster-transfer] max_payload ${maxPayload}: a 1 MiB data frame went as ${data.length} frames, 1.5 MB of records as ${batches.length - 1} batches, 1.2 MB of text as ${texts.length} parts; largest body ${Math.max(...got.map((m) => m.size))} bytes`,
      );
    } finally {
      router.stop();
      hub.close();
      await reader.close();
      await ctx.nc.close();
    }
  }, 60_000);
});
