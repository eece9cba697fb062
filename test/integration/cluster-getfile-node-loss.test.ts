// Getfile through two cluster nodes: the file data crosses NATS from the agent's node (node 2)
// to the analyst's node (node 1). Real processes only: a 3-server NATS cluster, 3 `lr-server` nodes, a
// real agent enrolled through node 2, the `lr` CLI talking to node 1 only.
//  1. A file of several MiB arrives with the SHA-256 the agent computed (and the client checked), and
//     neither node's memory grows with the file (the agent's credit window bounds what is in flight).
//  2. The node holding the agent dies (SIGKILL) in the middle of a transfer: node 1 ends the job at once
//     with a clear reason (it does not wait for data that will never come, nor hold what it had), the
//     agent reconnects to a live node, and the client resumes from the last byte on disk and completes
//     the file with the right SHA-256.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { natsSkipReason } from '../cluster/nats-cluster.js';
import { LrCluster } from '../cluster/lr-cluster.js';
import { BIN, waitFor } from './harness.js';
import { describeNeeds } from '../needs.js';

const MiB = 1024 * 1024;

function rss(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

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

/** Bytes written so far under `dir` (the partial download, whatever its name). */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}

describeNeeds(natsSkipReason)('cluster: getfile through two nodes', () => {
  let c: LrCluster;
  let files: string;
  let alpha: { deviceId: string };
  /** The `lr` processes started: a test that fails or times out leaves none running. */
  const children: ReturnType<typeof spawn>[] = [];

  /** `lr exec alpha "getfile SRC" --out OUT --json` through node 1; its exit code, stdout and stderr. */
  const getfile = (src: string, out: string, onStart?: (child: ReturnType<typeof spawn>) => void) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      const child = spawn(
        process.execPath,
        [BIN('lr'), '--profile', c.profile(1), 'exec', 'alpha', `getfile "${src}"`, '--out', out, '--json'],
        { env: { ...process.env, ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => res({ code, stdout, stderr }));
      onStart?.(child);
    });

  beforeAll(async () => {
    c = await LrCluster.start(3, { insecure: true });
    files = join(c.dir, 'files');
    mkdirSync(files, { recursive: true });
    alpha = await c.addAgent(2, 'alpha');
    await waitFor(
      'alpha online on node 2, seen from node 1',
      async () => (await c.devices(1)).find((d) => d.id === alpha.deviceId)?.node === c.node(2).id,
      30_000,
    );
  }, 240_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await c?.stop();
  }, 60_000);

  it('1. 96 MiB from the agent on node 2 to an analyst on node 1: the right SHA-256, and neither node grows with the file', async () => {
    const src = join(files, 'ninety-six.bin');
    const expected = randomFile(src, 96 * MiB);
    const out = join(c.dir, 'out1');
    mkdirSync(out);
    const pids = [c.node(1).proc!.pid!, c.node(2).proc!.pid!];
    const base = pids.map(rss);
    const peak = [...base];
    const timer = setInterval(() => pids.forEach((p, i) => (peak[i] = Math.max(peak[i] as number, rss(p)))), 20);
    const r = await getfile(src, out);
    clearInterval(timer);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { sha256: string; file: string; size: number };
    expect(result.size).toBe(96 * MiB);
    expect(result.sha256).toBe(expected);
    expect(await sha256File(result.file)).toBe(expected);
    // Well under the file: what a node holds is bounded by the window (8 MiB) and its buffers, not by the file.
    // A node's RSS grows by 30-50 MiB (V8 collects the frames' buffers lazily; with a 48 MiB file a loaded
    // machine sometimes crossed the file's size), so the file is 96 MiB: a node that kept it would cross 80 MiB.
    for (const i of [0, 1]) expect((peak[i] as number) - (base[i] as number)).toBeLessThan(80 * MiB);
  }, 120_000);

  it('2. node 2 (holding the agent) is killed mid-transfer: node 1 ends the job with a clear reason, the agent moves, the client resumes and the file is whole', async () => {
    const src = join(files, 'three-hundred.bin');
    const size = 300 * MiB;
    const expected = randomFile(src, size);
    const out = join(c.dir, 'out2');
    mkdirSync(out);
    let killedAt = 0;
    const r = await getfile(src, out, () => {
      void (async () => {
        await waitFor('some MiB on disk', async () => bytesUnder(out) > 16 * MiB, 60_000, 20);
        killedAt = bytesUnder(out);
        await c.killNode(2);
      })();
    });
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(size);
    expect(r.code, r.stderr).toBe(0);
    // The break was seen and said (the job failed on node 1 as soon as node 2 was dead), then resumed.
    expect(r.stderr).toMatch(/resum/i);
    const result = JSON.parse(r.stdout) as { sha256: string; file: string; size: number };
    expect(result.size).toBe(size);
    expect(result.sha256).toBe(expected);
    expect(await sha256File(result.file)).toBe(expected);
    const d = (await c.devices(1)).find((x) => x.id === alpha.deviceId);
    expect(d?.online).toBe(true);
    expect(d?.node).not.toBe(c.node(2).id);
  }, 150_000);
});
