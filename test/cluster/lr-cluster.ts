/**
 * A cluster of real `lr-server` nodes (out/bin, built) on a real 3-server NATS cluster on loopback, for the
 * acceptance tests and the cluster benchmark. Node 1 is made with `lr-server init`, the others with
 * `init --cluster-from node1`; node i talks to NATS server i only (so killing a node never takes NATS down
 * with it). Agents are enrolled through a chosen node, whose URL comes first in their bundle.
 *
 * The NATS servers require TLS and a token, as in production, unless `insecure` is given: then plain
 * loopback NATS and the nodes are started with --nats-insecure (the benchmark, to compare with earlier runs).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run, start, stop, waitFor, type RunResult } from '../integration/harness.js';
import { NatsCluster } from './nats-cluster.js';

export interface LrNode {
  i: number;
  dataDir: string;
  port: number;
  id: string;
  proc?: (ChildProcess & { output: () => string }) | undefined;
}

export interface DeviceView {
  id: string;
  name: string;
  online: boolean;
  node?: string;
}

export class LrCluster {
  readonly nodes: LrNode[] = [];
  readonly agents: ChildProcess[] = [];
  readonly env: Record<string, string>;

  private constructor(
    readonly nats: NatsCluster,
    readonly dir: string,
  ) {
    this.env = { XDG_STATE_HOME: join(dir, 'state'), LR_LOG_LEVEL: process.env.LR_CLUSTER_LOG_LEVEL ?? 'warn' };
  }

  static async start(
    size = 3,
    opts: {
      limits?: Record<string, number>;
      seed?: (node1Db: string) => void;
      simultaneous?: boolean;
      insecure?: boolean;
    } = {},
  ): Promise<LrCluster> {
    const nats = await NatsCluster.start(3, undefined, { secure: !opts.insecure });
    const c = new LrCluster(nats, mkdtempSync(join(tmpdir(), 'lr-cluster-')));
    try {
      for (let i = 1; i <= size; i++)
        c.nodes.push({ i, dataDir: join(c.dir, `node${i}`), port: await freePort(), id: '' });
      const first = c.nodes[0] as LrNode;
      const init = await run('lr-server', ['init', '--data', first.dataDir, '--listen', `127.0.0.1:${first.port}`]);
      if (init.code !== 0) throw new Error(`init: ${init.stderr}`);
      if (opts.limits) {
        const file = join(first.dataDir, 'config.json');
        const config = JSON.parse(readFileSync(file, 'utf8')) as { limits: Record<string, number> };
        config.limits = { ...config.limits, ...opts.limits };
        writeFileSync(file, JSON.stringify(config, null, 2));
      }
      opts.seed?.(join(first.dataDir, 'lr.db'));
      for (const n of c.nodes.slice(1)) {
        const r = await run('lr-server', [
          'init',
          '--data',
          n.dataDir,
          '--listen',
          `127.0.0.1:${n.port}`,
          '--cluster-from',
          first.dataDir,
        ]);
        if (r.code !== 0) throw new Error(`init node ${n.i}: ${r.stderr}`);
      }
      // Node 1 first: it seeds the shared state (its admin user); the others adopt it. Or all at once (a
      // data centre powering up): then they race to create the buckets and streams.
      if (opts.simultaneous) await Promise.all(c.nodes.map((n) => c.startNode(n.i)));
      else for (const n of c.nodes) await c.startNode(n.i);
      await waitFor(
        'every node sees the others',
        async () => c.nodes.every((n) => c.clusterUrls(n.i).length === size),
        30_000,
      );
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  node(i: number): LrNode {
    return this.nodes[i - 1] as LrNode;
  }

  async startNode(i: number): Promise<void> {
    const n = this.node(i);
    n.proc = await start(
      'lr-server',
      [
        'start',
        '--data',
        n.dataDir,
        '--nats',
        this.nats.urls[(i - 1) % 3] as string,
        '--nats-replicas',
        '3',
        ...this.nats.startArgs,
      ],
      /listening/,
      this.env,
    );
    n.id = readFileSync(join(n.dataDir, 'node-id'), 'utf8').trim();
  }

  async killNode(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await stop(this.node(i).proc, signal);
    this.node(i).proc = undefined;
  }

  clusterUrls(i: number): string[] {
    try {
      return (JSON.parse(readFileSync(join(this.node(i).dataDir, 'cluster-urls.json'), 'utf8')) as { urls: string[] })
        .urls;
    } catch {
      return [];
    }
  }

  /** The admin profile of node i (its URL first, the other nodes after it). */
  profile(i: number): string {
    return join(this.node(i).dataDir, 'admin.profile.json');
  }

  lr(i: number, args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('lr', ['--profile', this.profile(i), ...args], { env: this.env, timeoutMs });
  }

  async devices(i: number): Promise<DeviceView[]> {
    const r = await this.lr(i, ['devices', '--json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as DeviceView[];
  }

  /** Enrolls an agent with a bundle written by node i and starts it; resolves when node i sees it online. */
  async addAgent(i: number, name: string): Promise<{ deviceId: string; dataDir: string; proc: ChildProcess }> {
    const bundle = join(this.dir, `${name}.bundle.json`);
    const t = await run('lr-server', ['enroll-token', '--data', this.node(i).dataDir, '--out', bundle, '--ttl', '1h']);
    if (t.code !== 0) throw new Error(t.stderr);
    const agentDir = join(this.dir, `agent-${name}`);
    const e = await run('lr-agent', ['enroll', '--bundle', bundle, '--data', agentDir, '--name', name], {
      env: this.env,
    });
    if (e.code !== 0) throw new Error(`enroll failed: ${e.stderr}`);
    const deviceId = /device id (\w+)/.exec(e.stdout)?.[1] as string;
    const proc = await start('lr-agent', ['start', '--data', agentDir], /started/, this.env);
    this.agents.push(proc);
    await waitFor(
      `${name} online`,
      async () => (await this.devices(i)).find((d) => d.id === deviceId && d.online),
      30_000,
    );
    return { deviceId, dataDir: agentDir, proc };
  }

  async stop(): Promise<void> {
    for (const a of this.agents) await stop(a);
    for (const n of this.nodes) await stop(n.proc);
    await this.nats.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
