/**
 * Where one getfile MiB's time goes: the agent, the service and the client run with LR_STAGE_TRACE
 * (src/node/stage-trace.ts) and stamp every data frame at each step of its way (agent read, hash, send;
 * service receive, forward; client receive, hash, write). Frames travel in order on every hop, so the n-th
 * mark of a stage belongs to the n-th frame. Each step's time summed over the transfer and divided by its
 * MiB is the table; the steps of different processes overlap (they are a pipeline), so the wall time per
 * MiB is less than their sum. Written by `npm run bench -- getfile-breakdown`.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../test/integration/harness.js';
import { createWorld, median } from './lib.js';
import { spawn } from 'node:child_process';
import { traceFile } from './breakdown.js';
import { DATA_CHUNK_BYTES } from '../src/shared/wire/protocol.js';

const SIZE = Number(process.env.BENCH_BREAKDOWN_BYTES ?? 256 * 1024 ** 2);

/**
 * One step of a frame's way: its time is `to` minus `from` of the same frame (`prevTo`: or the previous frame's `to`,
 * if later).
 */
interface Step {
  name: string;
  process: 'agent' | 'service' | 'client';
  from: string;
  to: string;
  /** The step cannot start before the same step of the previous frame ended (one write at a time). */
  serial?: boolean;
  /** `from` is the previous frame's mark (the wait between two frames). */
  fromPrevious?: boolean;
  /**
   * A latency in flight (overlapped with other frames' steps): its sum per MiB is not a cost, only its median is shown.
   */
  latency?: boolean;
  meaning: string;
}

const STEPS: Step[] = [
  {
    name: 'agent read',
    process: 'agent',
    from: 'agent.read',
    to: 'agent.hash',
    meaning:
      "file read into the frame buffer (thread pool, issued one frame ahead: it overlaps the previous frame's send and window wait)",
    latency: true,
  },
  {
    name: 'agent hash',
    process: 'agent',
    from: 'agent.hash',
    to: 'agent.send',
    meaning: 'SHA-256 of the chunk (on the event loop)',
  },
  {
    name: 'agent send',
    process: 'agent',
    from: 'agent.send',
    to: 'agent.sent',
    meaning: 'WebSocket framing, TLS encryption and the socket write (synchronous part)',
  },
  {
    name: 'agent window wait',
    process: 'agent',
    from: 'agent.sent',
    to: 'agent.hash',
    fromPrevious: true,
    meaning:
      'between a frame sent and the next one in hand: waiting for the window (acks), the read ahead and the event loop',
  },
  {
    name: 'agent → service',
    process: 'service',
    from: 'agent.sent',
    to: 'svc.recv',
    meaning:
      'kernel (loopback TCP), TLS decryption and WebSocket parsing in the service, queueing behind earlier frames',
    latency: true,
  },
  {
    name: 'service forward',
    process: 'service',
    from: 'svc.recv',
    to: 'svc.sent',
    meaning: 'routing, then WebSocket framing, TLS encryption and the write to the console socket',
  },
  {
    name: 'service → client',
    process: 'client',
    from: 'svc.sent',
    to: 'cli.recv',
    meaning:
      'kernel, TLS decryption and WebSocket parsing in the client, queueing behind the frames in flight (up to the 8 MiB window)',
    latency: true,
  },
  {
    name: 'client hash',
    process: 'client',
    from: 'cli.hash',
    to: 'cli.queued',
    meaning: 'SHA-256 of the chunk (on the event loop)',
  },
  {
    name: 'client write',
    process: 'client',
    from: 'cli.queued',
    to: 'cli.written',
    serial: true,
    meaning: 'pwrite of the chunk (thread pool, overlapped with receiving the next frames)',
  },
];

function runLr(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [BIN('lr'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => res({ code, stderr }));
  });
}

/** Marks per stage, in order, for the one transfer in the trace. */
function readMarks(file: string): Map<string, number[]> {
  const marks = new Map<string, number[]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [, name, us] = line.split(' ');
    if (!name || !us) continue;
    let list = marks.get(name);
    if (!list) marks.set(name, (list = []));
    list.push(Number(us));
  }
  return marks;
}

export async function benchGetfileBreakdown(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'lr-bench-getfile-bd-'));
  const src = join(work, 'random.bin');
  const fd = openSync(src, 'w');
  for (let done = 0; done < SIZE; done += 8 << 20) writeSync(fd, randomBytes(Math.min(8 << 20, SIZE - done)));
  closeSync(fd);
  const trace = traceFile();
  const before = process.env.LR_STAGE_TRACE;
  process.env.LR_STAGE_TRACE = trace.file;
  const w = await createWorld();
  try {
    await w.addAgent('bench');
    const out = join(work, 'out');
    mkdirSync(out);
    const t0 = performance.now();
    const r = await runLr(['--profile', w.adminProfile, 'exec', 'bench', `getfile "${src}"`, '--out', out]);
    const wallMs = performance.now() - t0;
    if (r.code !== 0) throw new Error(`lr getfile failed: ${r.stderr}`);
    // The service and the agent flush their marks every 250 ms.
    await new Promise((res) => setTimeout(res, 600));
    const marks = readMarks(trace.file);
    const frames = Math.ceil(SIZE / DATA_CHUNK_BYTES);
    const mib = SIZE / 1024 ** 2;
    const rows: string[] = [];
    for (const s of STEPS) {
      const from = marks.get(s.from) ?? [];
      const to = marks.get(s.to) ?? [];
      if (from.length < frames || to.length < frames)
        throw new Error(`stage trace incomplete: ${s.from} ${from.length}, ${s.to} ${to.length} of ${frames} frames`);
      const each: number[] = [];
      for (let i = s.fromPrevious ? 1 : 0; i < frames; i++) {
        let start = from[s.fromPrevious ? i - 1 : i] as number;
        if (s.serial && i > 0) start = Math.max(start, to[i - 1] as number);
        each.push(((to[i] as number) - start) / 1000);
      }
      const total = each.reduce((a, b) => a + b, 0);
      rows.push(
        `| ${s.name} | ${s.process} | ${s.meaning} | ${s.latency ? '(in flight)' : (total / mib).toFixed(2)} | ${median(each).toFixed(3)} |`,
      );
    }
    return [
      `### Where one getfile MiB's time goes (${mib.toFixed(0)} MiB, ${frames} frames of ${DATA_CHUNK_BYTES / 1024} KiB, one traced run)`,
      '',
      `Wall time ${(wallMs / 1000).toFixed(2)} s for the whole \`lr exec\` (process start and session included): **${(wallMs / mib).toFixed(2)} ms per MiB**. The steps run in three processes at once (a pipeline), so they add up to more than the wall time; a step's "ms per MiB" is its time summed over every frame of the transfer, divided by the MiB. Steps marked "in flight" are latencies that overlap other frames' work (a frame waits in the kernel or behind the frames ahead of it): only their median per frame means something.`,
      '',
      '| step | process | what happens | ms per MiB | median per frame (ms) |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n');
  } finally {
    await w.cleanup();
    if (before === undefined) delete process.env.LR_STAGE_TRACE;
    else process.env.LR_STAGE_TRACE = before;
    trace.done();
    rmSync(work, { recursive: true, force: true });
  }
}
