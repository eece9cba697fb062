// A node reaches NATS over TLS with a pinned CA and an authorization token, and refuses in one
// line when either is wrong (a real nats-server with --tls and --auth, a real lr-server node). Security
// finding 1: without TLS and credentials it refuses unless told --nats-insecure, and without the cluster
// key (DATA/cluster.key, made by init, copied by init --cluster-from) it refuses, saying how to get it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTlsMaterial } from '../../src/server/tls.js';
import { findNatsServer, natsSkipReason } from '../cluster/nats-cluster.js';
import { freePort, run, start, stop, waitFor } from './harness.js';

const NEEDS_TLS =
  'lr-server: --nats needs TLS and credentials: --nats-ca and --nats-token-file (or --nats-cert/--nats-key); pass --nats-insecure to run without them';
import { describeNeeds } from '../needs.js';

describeNeeds(natsSkipReason)('cluster node: NATS over TLS with a token', () => {
  let dir: string;
  let nats: ChildProcess | undefined;
  let port: number;
  let dataDir: string;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lr-nats-tls-'));
    const tls = await createTlsMaterial(['127.0.0.1']);
    const other = await createTlsMaterial(['127.0.0.1']); // a CA that did not sign the server
    for (const [k, v] of Object.entries({
      ca: tls.caCert,
      cert: tls.cert,
      key: tls.key,
      otherCa: other.caCert,
      token: 's3cret-token-for-nats\n',
      badToken: 'not-the-token\n',
    })) {
      files[k] = join(dir, k);
      writeFileSync(files[k] as string, v, { mode: 0o600 });
    }
    port = await freePort();
    nats = spawn(
      findNatsServer() as string,
      [
        '-js',
        '-a',
        '127.0.0.1',
        '-p',
        String(port),
        '-sd',
        join(dir, 'js'),
        '--tls',
        '--tlscert',
        files.cert as string,
        '--tlskey',
        files.key as string,
        '--auth',
        's3cret-token-for-nats',
      ],
      { stdio: 'ignore' },
    );
    // Ready when a client gets through TLS and the token (a probe, not a guess at how long it takes).
    await waitFor(
      'nats-server answers',
      async () => {
        const nc = await connect({
          servers: `tls://127.0.0.1:${port}`,
          tls: { ca: tls.caCert },
          token: 's3cret-token-for-nats',
          timeout: 1_000,
          reconnect: false,
        }).catch(() => null);
        await nc?.close();
        return nc !== null;
      },
      15_000,
      100,
    );
    dataDir = join(dir, 'node');
    const init = await run('lr-server', ['init', '--data', dataDir, '--listen', `127.0.0.1:${await freePort()}`]);
    expect(init.code, init.stderr).toBe(0);
  });

  afterAll(async () => {
    if (nats?.pid) nats.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const startArgs = (extra: string[]) => ['start', '--data', dataDir, '--nats', `tls://127.0.0.1:${port}`, ...extra];

  it('joins with the pinned CA and the token', async () => {
    const node = await start(
      'lr-server',
      startArgs(['--nats-ca', files.ca as string, '--nats-token-file', files.token as string]),
      /listening/,
      { LR_LOG_LEVEL: 'warn' },
    );
    expect(node.output()).toMatch(/cluster node node-/);
    await stop(node);
  });

  it('refuses in one line: a CA that did not sign the server, a wrong token, no token, TLS options without --nats', async () => {
    const wrongCa = await run(
      'lr-server',
      startArgs(['--nats-ca', files.otherCa as string, '--nats-token-file', files.token as string]),
      { timeoutMs: 30_000 },
    );
    expect(wrongCa.code).not.toBe(0);
    expect(wrongCa.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrongCa.stderr).toMatch(
      /^lr-server: cannot reach NATS at tls:\/\/127\.0\.0\.1:\d+: .*(certificate|self.signed|verify)/i,
    );
    const badToken = await run(
      'lr-server',
      startArgs(['--nats-ca', files.ca as string, '--nats-token-file', files.badToken as string]),
      { timeoutMs: 30_000 },
    );
    expect(badToken.code).not.toBe(0);
    expect(badToken.stderr).toMatch(/^lr-server: cannot reach NATS at .*: .*(authorization|auth)/i);
    const noToken = await run('lr-server', startArgs(['--nats-ca', files.ca as string]), { timeoutMs: 30_000 });
    expect(noToken.code).not.toBe(0);
    expect(noToken.stderr.trim()).toBe(NEEDS_TLS);
    const stray = await run('lr-server', ['start', '--data', dataDir, '--nats-ca', files.ca as string]);
    expect(stray.code).toBe(2);
    expect(stray.stderr.trim()).toBe(
      'lr-server: --nats-ca, --nats-cert, --nats-key, --nats-token-file and --nats-insecure need --nats',
    );
    const missing = await run('lr-server', startArgs(['--nats-ca', join(dir, 'nope.pem')]));
    expect(missing.stderr.trim()).toBe(`lr-server: --nats-ca ${join(dir, 'nope.pem')}: ENOENT`);
  }, 120_000);

  it('refuses NATS without TLS and credentials unless --nats-insecure is given', async () => {
    for (const extra of [[], ['--nats-token-file', files.token as string]]) {
      const r = await run('lr-server', ['start', '--data', dataDir, '--nats', `nats://127.0.0.1:${port}`, ...extra], {
        timeoutMs: 30_000,
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toBe(NEEDS_TLS);
    }
    // With --nats-insecure the node goes on and tries (this server speaks TLS only, so it cannot reach it).
    const insecure = await run(
      'lr-server',
      [
        'start',
        '--data',
        dataDir,
        '--nats',
        `nats://127.0.0.1:${port}`,
        '--nats-insecure',
        '--nats-token-file',
        files.token as string,
      ],
      { timeoutMs: 30_000 },
    );
    expect(insecure.code).not.toBe(0);
    expect(insecure.stderr).toMatch(/^lr-server: cannot reach NATS/);
  }, 60_000);

  it('the cluster key: made by init (0600), copied by init --cluster-from; a node without it refuses in one line', async () => {
    const key = readFileSync(join(dataDir, 'cluster.key'), 'utf8');
    expect(key).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(join(dataDir, 'cluster.key')).mode & 0o777).toBe(0o600);
    const joiner = join(dir, 'joiner');
    const r = await run('lr-server', [
      'init',
      '--data',
      joiner,
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--cluster-from',
      dataDir,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(joiner, 'cluster.key'), 'utf8')).toBe(key);
    expect(statSync(join(joiner, 'cluster.key')).mode & 0o777).toBe(0o600);
    unlinkSync(join(joiner, 'cluster.key'));
    const noKey = await run(
      'lr-server',
      [
        'start',
        '--data',
        joiner,
        '--nats',
        `tls://127.0.0.1:${port}`,
        '--nats-ca',
        files.ca as string,
        '--nats-token-file',
        files.token as string,
      ],
      { timeoutMs: 30_000 },
    );
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
    expect(noKey.stderr).toMatch(
      /cluster\.key is missing: every node of a cluster needs the cluster key \(copy it, mode 0600, from the first node's data folder/,
    );
  }, 60_000);
});
