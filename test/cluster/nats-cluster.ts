/**
 * A real 3-server NATS cluster with JetStream on loopback, for tests of the multi-node service (cluster
 * mode). Each server gets free ports (client and cluster route), its own store dir under one temp folder,
 * and routes to the other two. start() returns once JetStream can place a 3-replica KV bucket (the meta
 * leader is elected and every server has joined), stop() ends the servers by PID (SIGTERM, then SIGKILL)
 * and removes the folder.
 *
 * With `secure`, the servers speak TLS to clients (a CA made for the test, pinned by the clients) and
 * require an authorization token, as a production cluster must (docs/cluster.md); the files are in `tls`
 * for the lr-server nodes' --nats-ca and --nats-token-file. Without it, plain loopback NATS (in-process
 * contract tests, or nodes started with --nats-insecure).
 *
 * Debian's package installs the binary in /usr/sbin, which is not on every user's PATH: look there too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { createTlsMaterial } from '../../src/server/tls.js';
import type { NatsSecurity } from '../../src/server/cluster/cluster-context.js';
import { ClusterMac, DropLog } from '../../src/server/cluster/cluster-key.js';
import type { Logger } from '../../src/node/log.js';

/** The cluster key of in-process test nodes (one per test process: every node of a test shares it). */
export const testMac = new ClusterMac(randomBytes(32));

/** What a ClusterContext needs beside its connection: the test cluster key and a drop log on `log`. */
export function testAuth(log: Logger): { mac: ClusterMac; drops: DropLog } {
  return { mac: testMac, drops: new DropLog(log) };
}

export function findNatsServer(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, 'nats-server');
    if (existsSync(p)) return p;
  }
  return null;
}

/** Why the cluster tests skip, or null when they can run. */
export const natsSkipReason: string | null = findNatsServer()
  ? null
  : 'nats-server is not installed (apt-get install nats-server; .ci/run installs it)';

interface Server {
  name: string;
  clientPort: number;
  routePort: number;
  proc: ChildProcess;
  stderr: string[];
}

/** A secure cluster's client material: PEM CA and token, and the files holding them. */
export interface NatsTls {
  ca: string;
  token: string;
  caFile: string;
  tokenFile: string;
}

export class NatsCluster {
  private constructor(
    private readonly dir: string,
    private readonly servers: Server[],
    readonly tls: NatsTls | null,
  ) {}

  /** Client URLs, one per server (nats://127.0.0.1:PORT, tls:// when secure). */
  get urls(): string[] {
    return this.servers.map((s) => `${this.tls ? 'tls' : 'nats'}://127.0.0.1:${s.clientPort}`);
  }

  /** What a node (connectCluster) needs to connect: undefined on a plain cluster. */
  get security(): NatsSecurity | undefined {
    return this.tls ? { ca: this.tls.ca, token: this.tls.token } : undefined;
  }

  /** The lr-server start options that connect to this cluster (TLS + token, or --nats-insecure). */
  get startArgs(): string[] {
    return this.tls ? ['--nats-ca', this.tls.caFile, '--nats-token-file', this.tls.tokenFile] : ['--nats-insecure'];
  }

  /** The servers' process ids (the cluster benchmark measures their memory and CPU too). */
  pids(): number[] {
    return this.servers.map((s) => s.proc.pid).filter((p): p is number => p !== undefined);
  }

  /** A connection to server `i` only (no failover to the others: a "node" is tied to its server). */
  connect(i: number): Promise<NatsConnection> {
    return connect({
      servers: this.urls[i],
      name: `test-node-${i}`,
      ignoreClusterUpdates: true,
      ...(this.tls ? { tls: { ca: this.tls.ca }, token: this.tls.token } : {}),
    });
  }

  static async start(size = 3, readyTimeoutMs = 60_000, opts: { secure?: boolean } = {}): Promise<NatsCluster> {
    const bin = findNatsServer();
    if (!bin) throw new Error(natsSkipReason ?? 'nats-server missing');
    const dir = mkdtempSync(path.join(tmpdir(), 'lr-nats-'));
    const ports = await freePorts(size * 2);
    const servers: Server[] = [];
    let tls: NatsTls | null = null;
    const serverTls: string[] = [];
    if (opts.secure) {
      const m = await createTlsMaterial(['127.0.0.1']);
      const file = (name: string, content: string) => {
        const f = path.join(dir, name);
        writeFileSync(f, content, { mode: 0o600 });
        return f;
      };
      const token = randomBytes(18).toString('base64url');
      tls = { ca: m.caCert, token, caFile: file('nats-ca.pem', m.caCert), tokenFile: file('nats-token', token + '\n') };
      serverTls.push(
        '--tls',
        '--tlscert',
        file('nats-cert.pem', m.cert),
        '--tlskey',
        file('nats-key.pem', m.key),
        '--auth',
        token,
      );
    }
    const cluster = new NatsCluster(dir, servers, tls);
    try {
      for (let i = 0; i < size; i++) {
        const clientPort = ports[2 * i] as number;
        const routePort = ports[2 * i + 1] as number;
        const routes = ports.filter((_, j) => j % 2 === 1 && j !== 2 * i + 1).map((p) => `nats://127.0.0.1:${p}`);
        const name = `n${i + 1}`;
        const store = path.join(dir, name);
        mkdirSync(store);
        const args = [
          '-js',
          '-a',
          '127.0.0.1',
          '-p',
          String(clientPort),
          '-sd',
          store,
          '--server_name',
          name,
          '--cluster_name',
          'lr-test',
          '--cluster',
          `nats://127.0.0.1:${routePort}`,
          '--routes',
          routes.join(','),
          ...serverTls,
        ];
        const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        const s: Server = { name, clientPort, routePort, proc, stderr: [] };
        // Kept (bounded) for the error message if the cluster never becomes ready.
        proc.stderr?.on('data', (b: Buffer) => {
          s.stderr.push(b.toString());
          if (s.stderr.length > 50) s.stderr.shift();
        });
        servers.push(s);
      }
      await cluster.waitReady(readyTimeoutMs);
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  /** Ready = a KV bucket with one replica per server can be created (then it is removed again). */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      for (const s of this.servers) {
        if (s.proc.exitCode !== null)
          throw new Error(`nats-server ${s.name} exited (${s.proc.exitCode}): ${s.stderr.join('').slice(-2000)}`);
      }
      let nc: NatsConnection | undefined;
      try {
        nc = await this.connect(0);
        const kv = await new Kvm(nc).create('lr_probe', { replicas: this.servers.length, timeout: 2_000 });
        await kv.destroy();
        return;
      } catch (e) {
        last = e;
      } finally {
        await nc?.close().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `NATS cluster not ready after ${timeoutMs} ms: ${(last as Error | undefined)?.message ?? 'no answer'}`,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => stopProcess(s.proc)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  process.kill(proc.pid, 'SIGTERM');
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), 5_000)),
  ]);
  if (timedOut && proc.exitCode === null) {
    process.kill(proc.pid, 'SIGKILL');
    await exited;
  }
}

/** Distinct free loopback ports: all listeners are held open together so the OS cannot hand one out twice. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const srv = createServer();
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
