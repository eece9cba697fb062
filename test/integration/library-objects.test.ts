/**
 * The script library of a cluster, on a real 3-server NATS cluster on loopback: two "nodes",
 * each with its own data folder, SQLite database, LibraryService and HTTP server running the real library
 * routes, each connected to a different NATS server. A file uploaded on node A (through the upload route
 * and LibraryStore.commit) is served by node B to an agent holding a token node A issued: node B fetches
 * the content from the object store on first serve, hash-checked. The metadata row is copied into node B's
 * database by the test, standing in for the replication another component does.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Logger } from '../../src/node/log.js';
import { digestFile } from '../../src/node/digest-stream.js';
import { limitsSchema } from '../../src/server/config.js';
import { openDb, type Db } from '../../src/server/db.js';
import { Store, type User } from '../../src/server/store.js';
import { LibraryService } from '../../src/server/library-service.js';
import { TenantSettings } from '../../src/server/tenant-settings.js';
import { handleLibraryRoute } from '../../src/server/library-routes.js';
import type { AgentFileGrant } from '../../src/server/agent-file-tokens.js';
import type { ClusterContext } from '../../src/server/cluster/cluster-context.js';
import { LibraryObjects } from '../../src/server/cluster/library-objects.js';
import { ClusterFileTokens } from '../../src/server/cluster/file-tokens.js';
import { NatsCluster, natsSkipReason, testAuth } from '../cluster/nats-cluster.js';
import { ClusterMac, sealValue } from '../../src/server/cluster/cluster-key.js';
import { waitFor } from './harness.js';
import { describeNeeds } from '../needs.js';
import { agentFileProofPayload } from '../../src/shared/wire/protocol.js';

const MB = 1024 * 1024;
const admin: User = { id: 'u-admin', name: 'maya', role: 'admin', libraryManager: true };
const log = new Logger('test', 'warn');
/** The devices that download here, with one key (agents sign each token with their device key). */
const DEVICES = ['dev-1', 'dev-2', 'dev-3'];
const deviceKey = generateKeyPairSync('ed25519');

interface Node {
  dir: string;
  db: Db;
  lib: LibraryService;
  objects: LibraryObjects;
  tokens: ClusterFileTokens;
  ctx: ClusterContext;
  server: Server;
  port: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function context(nc: NatsConnection, nodeId: string): Promise<ClusterContext> {
  const js = jetstream(nc, { timeout: 10_000 });
  return { nc, js, jsm: await js.jetstreamManager(), nodeId, replicas: 3, log, ...testAuth(log) };
}

async function startNode(
  nc: NatsConnection,
  nodeId: string,
  buckets: { library: string; tokens: string },
): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), `lr-libobj-${nodeId}-`));
  const db = openDb(join(dir, 'lr.db'));
  const store = new Store(db);
  // Stands in for the replicated devices table: every node knows each device's public key.
  const publicKey = deviceKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  for (const id of DEVICES)
    db.prepare(
      "INSERT INTO devices (id, name, hostname, os, platform, agent_version, public_key, enrolled_at) VALUES (?, ?, 'h', 'Linux', 'linux', '1', ?, '2026-01-01T00:00:00Z')",
    ).run(id, id, publicKey);
  const ctx = await context(nc, nodeId);
  const objects = await LibraryObjects.open(ctx, { bucket: buckets.library });
  const tokens = await ClusterFileTokens.open(ctx, { bucket: buckets.tokens });
  const lib = new LibraryService(
    db,
    dir,
    store,
    () => limitsSchema.parse({}),
    'https://127.0.0.1:8443',
    log,
    new TenantSettings(store, limitsSchema.parse({})),
    { content: objects, tokens },
  );
  // The library routes as http.ts calls them (plain HTTP: TLS is not what is tested here).
  const server = createServer((req, res) => {
    void handleLibraryRoute(req, res, admin, lib).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { dir, db, lib, objects, tokens, ctx, server, port: (server.address() as AddressInfo).port };
}

/** Uploads a file through node's upload route (streamed from disk). */
async function upload(
  node: Node,
  name: string,
  file: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: node.port,
        method: 'PUT',
        path: `/api/v1/library/${encodeURIComponent(name)}?overwrite=true`,
        headers: { 'content-length': String(statSync(file).size) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

/** An agent's download: GET /api/v1/agent/files/<token> with its device id and its signature of the token. */
async function download(node: Node, token: string, deviceId: string): Promise<{ status: number; body: Buffer }> {
  const proof = sign(null, Buffer.from(agentFileProofPayload(token, deviceId)), deviceKey.privateKey).toString(
    'base64',
  );
  const r = await fetch(`http://127.0.0.1:${node.port}/api/v1/agent/files/${token}`, {
    headers: { 'x-lr-device': deviceId, 'x-lr-device-proof': proof },
  });
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
}

/** Stands in for the replication of the metadata table: copies node A's row into node B's database. */
function replicateRow(from: Node, to: Node, name: string): void {
  const row = from.db.prepare('SELECT * FROM library_files WHERE name = ?').get(name) as Record<string, unknown>;
  const cols = Object.keys(row);
  to.db
    .prepare(
      `INSERT OR REPLACE INTO library_files (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`,
    )
    .run(row);
}

function sha256Of(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describeNeeds(natsSkipReason)('cluster library: object store content and shared download tokens', () => {
  let cluster: NatsCluster;
  let ncs: NatsConnection[] = [];
  let a: Node;
  let b: Node;
  let scratch: string;
  const buckets = { library: `lib_${randomBytes(3).toString('hex')}`, tokens: `tok_${randomBytes(3).toString('hex')}` };

  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
    ncs = await Promise.all([cluster.connect(0), cluster.connect(1), cluster.connect(2)]);
    a = await startNode(ncs[0] as NatsConnection, 'node-a', buckets);
    b = await startNode(ncs[1] as NatsConnection, 'node-b', buckets);
    scratch = mkdtempSync(join(tmpdir(), 'lr-libobj-files-'));
  }, 120_000);

  afterAll(async () => {
    for (const n of [a, b]) {
      if (!n) continue;
      await new Promise((r) => n.server.close(r));
      n.db.close();
      rmSync(n.dir, { recursive: true, force: true });
    }
    await Promise.all(ncs.map((nc) => nc.close().catch(() => undefined)));
    await cluster?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('an upload on node A is published before it is answered; node B fetches it on first serve, hash-checked', async () => {
    const content = Buffer.from(`#!/bin/bash\necho triage ${randomBytes(8).toString('hex')}\n`.repeat(20_000)); // ~800 KB: several chunks
    const file = join(scratch, 'triage.sh');
    writeFileSync(file, content);
    const up = await upload(a, 'triage.sh', file);
    expect(up.status).toBe(201);
    const sha256 = sha256Of(content);
    expect(up.body.sha256).toBe(sha256);
    // Acknowledged = in the object store already (replicated), under its SHA-256.
    const info = await new Objm(jetstream(ncs[2] as NatsConnection))
      .open(buckets.library)
      .then((os) => os.info(sha256));
    expect(info?.size).toBe(content.length);

    replicateRow(a, b, 'triage.sh');
    expect(existsSync(join(b.dir, 'library', 'triage.sh'))).toBe(false);
    // A token node A issued (as its putfile preparer does), redeemed by node B where the agent is.
    const token = a.lib.tokens.issue({ name: 'triage.sh', deviceId: 'dev-1', sha256 });
    const got = await download(b, token, 'dev-1');
    expect(got.status).toBe(200);
    expect(sha256Of(got.body)).toBe(sha256);
    expect(readFileSync(join(b.dir, 'library', 'triage.sh')).equals(content)).toBe(true);
    expect(readdirSync(join(b.dir, 'library')).filter((f) => f.endsWith('.part'))).toEqual([]);
    // Used: refused on either node.
    expect((await download(b, token, 'dev-1')).status).toBe(404);
    expect((await download(a, token, 'dev-1')).status).toBe(404);

    // Replaced on node A: node B's copy is stale under the same name and is replaced before it is served.
    const v2 = Buffer.from('#!/bin/bash\necho version 2\n');
    writeFileSync(file, v2);
    expect((await upload(a, 'triage.sh', file)).status).toBe(200);
    replicateRow(a, b, 'triage.sh');
    const t2 = b.lib.tokens.issue({ name: 'triage.sh', deviceId: 'dev-1', sha256: sha256Of(v2) });
    const got2 = await download(b, t2, 'dev-1');
    expect(got2.status).toBe(200);
    expect(got2.body.equals(v2)).toBe(true);

    // A library delete removes the local file only; the object stays (content addressed).
    expect(await b.lib.files.delete('triage.sh')).toBe(true);
    expect(existsSync(join(b.dir, 'library', 'triage.sh'))).toBe(false);
    expect(
      await new Objm(jetstream(ncs[2] as NatsConnection)).open(buckets.library).then((os) => os.info(sha256Of(v2))),
    ).not.toBeNull();
  });

  it('concurrent serves of one missing file share one fetch', async () => {
    const content = randomBytes(3 * MB);
    const file = join(scratch, 'shared.py');
    writeFileSync(file, content);
    expect((await upload(a, 'shared.py', file)).status).toBe(201);
    replicateRow(a, b, 'shared.py');
    const fetched: unknown[] = [];
    const untap = log.tap((_level, msg) => {
      if (msg === 'library content fetched from the object store') fetched.push(msg);
    });
    try {
      const tokens = Array.from({ length: 5 }, () =>
        a.lib.tokens.issue({ name: 'shared.py', deviceId: 'dev-2', sha256: sha256Of(content) }),
      );
      const results = await Promise.all(tokens.map((t) => download(b, t, 'dev-2')));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      for (const r of results) expect(r.body.equals(content)).toBe(true);
      expect(fetched).toHaveLength(1);
    } finally {
      untap();
    }
  });

  it('refuses a corrupted object (other bytes under the SHA-256 name) and leaves nothing behind', async () => {
    const good = Buffer.from('#!/bin/bash\necho good\n');
    const sha256 = sha256Of(good);
    const os = await new Objm(jetstream(ncs[2] as NatsConnection)).open(buckets.library);
    await os.putBlob({ name: sha256 }, new Uint8Array(Buffer.from('#!/bin/bash\nrm -rf / # evil\n')));
    b.db
      .prepare(
        `INSERT INTO library_files (name, description, parameters_description, parameters_example, size, sha256, uploaded_by, uploaded_at, signature, publisher) VALUES (?, '', '', '', ?, ?, 'maya', ?, NULL, NULL)`,
      )
      .run('good.sh', good.length, sha256, new Date().toISOString());
    const dest = join(b.dir, 'library', 'good.sh');
    await expect(b.objects.ensureLocal(sha256, dest)).rejects.toThrow(/corrupt/);
    const token = b.lib.tokens.issue({ name: 'good.sh', deviceId: 'dev-3', sha256 });
    const r = await download(b, token, 'dev-3');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).error).toMatch(/corrupt/);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(join(b.dir, 'library')).filter((f) => f.endsWith('.part'))).toEqual([]);
    // Uploading the right bytes replaces the bad object (its own digest does not match its name).
    const file = join(scratch, 'good.sh');
    writeFileSync(file, good);
    expect((await upload(a, 'good.sh', file)).status).toBe(201);
    const again = await download(b, b.lib.tokens.issue({ name: 'good.sh', deviceId: 'dev-3', sha256 }), 'dev-3');
    expect(again.status).toBe(200);
    expect(again.body.equals(good)).toBe(true);
    // Content the store does not have at all: refused too.
    await expect(b.objects.ensureLocal('0'.repeat(64), join(b.dir, 'library', 'none.sh'))).rejects.toThrow(
      /not in the cluster's object store/,
    );
  });

  it('fetches a 200 MB file with bounded memory', async () => {
    const file = join(scratch, 'big.bin');
    const out = createWriteStream(file);
    const block = randomBytes(MB);
    for (let i = 0; i < 200; i++) {
      block.writeUInt32BE(i, 0); // not 200 equal blocks
      if (!out.write(Buffer.from(block))) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(r));
    const { sha256, size } = await digestFile(file);
    expect(size).toBe(200 * MB);
    const up = await upload(a, 'big.bin', file);
    expect(up.status).toBe(201);
    replicateRow(a, b, 'big.bin');

    const dest = join(b.dir, 'library', 'big.bin');
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const t0 = Date.now();
    try {
      await b.objects.ensureLocal(sha256, dest);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const growth = peak - before;
    console.log(
      `ensureLocal of 200 MB: ${Date.now() - t0} ms, RSS growth ${(growth / MB).toFixed(1)} MB (rss before ${(before / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB)`,
    );
    expect(growth).toBeLessThan(64 * MB);
    expect((await digestFile(dest)).sha256).toBe(sha256);
    rmSync(file, { force: true });
  }, 240_000);

  it('a token issued on node A is redeemed once, on node B; a second redeem on A or B is refused', async () => {
    const sha256 = 'a'.repeat(64);
    const t = a.tokens.issue({ name: 'x.sh', deviceId: 'dev-9', sha256 });
    // Asked at once: node A's put may still be in flight; node B waits for it.
    const g = await b.tokens.redeem(t);
    expect(g).toMatchObject({ name: 'x.sh', deviceId: 'dev-9', sha256 });
    expect(await b.tokens.redeem(t)).toBeNull();
    expect(await a.tokens.redeem(t)).toBeNull();
    // And the other way round: used on the issuing node, refused on the other.
    const t2 = a.tokens.issue({ name: 'x.sh', deviceId: 'dev-9', sha256 });
    expect(await a.tokens.redeem(t2)).not.toBeNull();
    expect(await b.tokens.redeem(t2)).toBeNull();
    // Unknown and malformed tokens.
    expect(await b.tokens.redeem(randomBytes(32).toString('base64url'))).toBeNull();
    expect(await b.tokens.redeem('../../etc/passwd')).toBeNull();
  });

  it('20 concurrent redeems of one token over two nodes: exactly one grant', async () => {
    for (let round = 0; round < 3; round++) {
      const t = a.tokens.issue({ name: 'x.sh', deviceId: 'dev-9', sha256: 'b'.repeat(64) });
      await sleep(50); // the grant is in the bucket: every redeem races on the consume, not on the wait
      const all = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).tokens.redeem(t)));
      expect(all.filter((g): g is AgentFileGrant => g !== null)).toHaveLength(1);
    }
    // Also while node A's put is still in flight.
    const t = a.tokens.issue({ name: 'x.sh', deviceId: 'dev-9', sha256: 'c'.repeat(64) });
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).tokens.redeem(t)));
    expect(all.filter((g) => g !== null)).toHaveLength(1);
  });

  it('a grant forged without the cluster key is never honoured; a used grant published again (a replay) stays used', async () => {
    const sha256 = 'd'.repeat(64);
    const kv = await new Kvm(ncs[2] as NatsConnection).open(buckets.tokens);
    // Forged: the grant as it was stored before the fix, and one sealed under another key.
    const forgedToken = randomBytes(32).toString('base64url');
    const forgedKey = `t.${createHash('sha256').update(forgedToken).digest('hex')}`;
    await kv.put(
      forgedKey,
      JSON.stringify({ name: 'x.sh', deviceId: 'dev-9', sha256, expiresAt: Date.now() + 60_000 }),
    );
    expect(await b.tokens.redeem(forgedToken)).toBeNull();
    const grant = { name: 'x.sh', deviceId: 'dev-9', sha256, expiresAt: Date.now() + 60_000 };
    await kv.put(
      forgedKey,
      sealValue(new ClusterMac(randomBytes(32)), 'grant', `${buckets.tokens}/${forgedKey}`, {
        writer: 'node-a',
        version: String(grant.expiresAt),
        data: JSON.stringify(grant),
      }),
    );
    expect(await b.tokens.redeem(forgedToken)).toBeNull();
    // Replayed: an authentic grant captured before its use, published again after.
    const t = a.tokens.issue({ name: 'x.sh', deviceId: 'dev-9', sha256 });
    const key = `t.${createHash('sha256').update(t).digest('hex')}`;
    const captured = await waitFor('the grant in the bucket', async () => (await kv.get(key))?.value);
    expect(await b.tokens.redeem(t)).not.toBeNull();
    await kv.put(key, captured);
    expect(await b.tokens.redeem(t)).toBeNull();
    expect(await a.tokens.redeem(t)).toBeNull();
  });

  it('refuses an expired token on every node', async () => {
    const bucket = `tok_short_${randomBytes(3).toString('hex')}`;
    const ta = await ClusterFileTokens.open(a.ctx, { bucket, ttlMs: 1_000 });
    const tb = await ClusterFileTokens.open(b.ctx, { bucket, ttlMs: 1_000 });
    const t = ta.issue({ name: 'x.sh', deviceId: 'dev-9', sha256: 'd'.repeat(64) });
    const t2 = ta.issue({ name: 'x.sh', deviceId: 'dev-9', sha256: 'd'.repeat(64) });
    expect(await tb.redeem(t2)).not.toBeNull(); // valid while fresh
    await sleep(1_300);
    expect(await tb.redeem(t)).toBeNull();
    expect(await ta.redeem(t)).toBeNull();
  });
});
