/**
 * The store contract: what a multi-node service relies on from its shared state,
 * run on the single node's SQLite (reader = writer) and on JetStream: a 3-server NATS cluster on loopback
 * and two "nodes", each with its own SQLite database and its own StateReplication on its own connection,
 * writing on node A and reading on node B once both are synced. The real classes throughout (Store,
 * GroupStore, UserAdmin, TenantSettings, LibraryStore, ResponseActions), no stand-ins.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { openDb, type Db } from '../../src/server/db.js';
import { Store, type DeviceRow } from '../../src/server/store.js';
import { GroupStore } from '../../src/server/groups.js';
import { UserAdmin } from '../../src/server/tokens.js';
import { TenantSettings } from '../../src/server/tenant-settings.js';
import { LibraryStore, type LibraryFile } from '../../src/server/library-store.js';
import { ResponseActions } from '../../src/server/response-actions.js';
import { limitsSchema } from '../../src/server/config.js';
import { StateReplication } from '../../src/server/cluster/state-replication.js';
import type { ClusterContext } from '../../src/server/cluster/cluster-context.js';
import { Logger } from '../../src/node/log.js';
import type { DeviceInfo } from '../../src/shared/wire/protocol.js';
import { NatsCluster, natsSkipReason, testAuth } from '../cluster/nats-cluster.js';
import { describeNeeds } from '../needs.js';

interface Node {
  db: Db;
  dir: string;
  store: Store;
  groups: GroupStore;
  users: UserAdmin;
  tenant: TenantSettings;
  library: LibraryStore;
  responses: ResponseActions;
}

interface Fixture {
  /** The writer and the reader (the same node on SQLite). */
  a: Node;
  b: Node;
  /** Returns once what either node wrote is visible on both. */
  sync(): Promise<void>;
  /** Cluster only: a node with its own empty database started now. */
  join?(): Promise<Node>;
  /** Cluster only: stops node A's replication (A keeps writing its database), and starts it again. */
  pauseA?(): Promise<() => Promise<void>>;
  /** Cluster only: writes a raw value into the shared bucket (what a broken or hostile node could send). */
  rawPut?(key: string, value: string): Promise<void>;
  dispose(): Promise<void>;
}

const BASE_LIMITS = limitsSchema.parse({});
const info = (name: string): DeviceInfo => ({
  name,
  hostname: `${name}.example`,
  os: 'Linux 6.1',
  platform: 'linux',
  agentVersion: '1.0.0',
});

function newNode(root: string, name: string): Node {
  const dir = path.join(root, name);
  const db = openDb(path.join(root, `${name}.db`));
  const store = new Store(db);
  return {
    db,
    dir,
    store,
    groups: new GroupStore(db),
    users: new UserAdmin(db),
    tenant: new TenantSettings(store, BASE_LIMITS),
    library: new LibraryStore(db, dir, null),
    responses: new ResponseActions(db, 'wss://127.0.0.1:1', store),
  };
}

function enroll(n: Node, name: string, publicKey = `pk-${name}`): DeviceRow {
  const { token } = n.store.createEnrollToken(60_000);
  const r = n.store.enrollDevice(token, info(name), publicKey);
  if (!r.ok) throw new Error(r.error);
  return n.store.getDevice(r.deviceId) as DeviceRow;
}

/** A cluster fixture's optional part, which tests of several nodes need. */
function clusterOnly<T>(part: T | undefined, what: string): T {
  if (part === undefined) throw new Error(`a fixture of several nodes must offer ${what}`);
  return part;
}

function storeContract(name: string, nodes: 'one' | 'several', create: () => Promise<Fixture>): void {
  // What only several nodes can do is not part of a single database's contract: those tests are not
  // registered there (not skipped: they do not exist for it).
  const itAcrossNodes = nodes === 'several' ? it : () => undefined;
  describe(`store contract: ${name}`, () => {
    let f: Fixture | undefined;
    async function fresh(): Promise<Fixture> {
      f = await create();
      return f;
    }
    afterEach(async () => {
      await f?.dispose();
      f = undefined;
    });

    it('a user created on A authenticates on B with its token', async () => {
      const { a, b, sync } = await fresh();
      const user = a.store.createUser('alice', 'advanced', true);
      const token = a.store.issueApiToken(user.id);
      await sync();
      expect(b.store.authenticate(token)).toEqual(user);
      expect(b.users.list().map((u) => u.name)).toContain('alice');
      expect(b.store.authenticate(token.slice(0, -2) + 'xx')).toBeNull();
    });

    it("an isolate completed while the device's hello waits in the presence batch is not undone by that hello", async () => {
      const { a, b, sync } = await fresh();
      const d = enroll(a, 'iso1');
      // The agent reconnects (its hello says: not isolated), and within the same 100 ms batch an isolate
      // completes (the pipeline's hook sets the flag).
      a.store.updateDeviceInfo(d.id, { ...info('iso1'), isolated: false });
      a.responses.setIsolated(d.id, true);
      a.store.flushPresence();
      expect(a.store.getDevice(d.id)?.isolated).toBe(true);
      await sync();
      expect(b.store.getDevice(d.id)?.isolated).toBe(true);
      // A hello that comes after it is newer: the agent's own state wins (it restarted without its rules).
      a.store.updateDeviceInfo(d.id, { ...info('iso1'), isolated: false });
      a.store.flushPresence();
      expect(a.store.getDevice(d.id)?.isolated).toBe(false);
    });

    it('a token revoked on A is refused on B', async () => {
      const { a, b, sync } = await fresh();
      const user = a.store.createUser('bob', 'basic', false);
      const token = a.users.issue('bob', null);
      await sync();
      expect(b.store.authenticate(token)?.id).toBe(user.id);
      expect(a.users.revoke('bob')).toBe(1);
      await sync();
      expect(b.store.authenticate(token)).toBeNull();
      expect(b.users.list().find((u) => u.name === 'bob')).toMatchObject({ activeTokens: 0, revokedTokens: 1 });
    });

    it('a user disabled on A, and a role changed on A, are in force on B', async () => {
      const { a, b, sync } = await fresh();
      const carol = a.store.createUser('carol', 'basic', false);
      const carolToken = a.store.issueApiToken(carol.id);
      const dave = a.store.createUser('dave', 'basic', false);
      const daveToken = a.store.issueApiToken(dave.id);
      await sync();
      // No API writes these yet (the admin CLI does it in SQL); the contract is about the rows.
      a.db.prepare('UPDATE users SET disabled_at = ? WHERE id = ?').run(new Date().toISOString(), carol.id);
      a.db.prepare("UPDATE users SET role = 'admin' WHERE id = ?").run(dave.id);
      await sync();
      expect(b.store.authenticate(carolToken)).toBeNull();
      expect(b.users.list().find((u) => u.name === 'carol')?.disabledAt).not.toBeNull();
      expect(b.store.authenticate(daveToken)).toMatchObject({ id: dave.id, role: 'admin' });
    });

    it('tenant settings set on A are in force on B', async () => {
      const { a, b, sync } = await fresh();
      a.tenant.apply({ liveResponse: false, limits: { maxSessionsPerUser: 3, getfileBytes: 1024 } });
      await sync();
      expect(b.tenant.liveResponse()).toBe(false);
      expect(b.tenant.refusal('host1', [])?.code).toBe('disabled');
      expect(b.tenant.limits()).toEqual({ ...BASE_LIMITS, maxSessionsPerUser: 3, getfileBytes: 1024 });
      a.tenant.apply({ liveResponse: true, liveResponseServers: false });
      await sync();
      expect(b.tenant.refusal('host1', [])).toBeNull();
      expect(b.tenant.refusal('srv1', ['server'])?.code).toBe('disabled');
    });

    it('device groups, tags and membership made on A decide the session refusal on B', async () => {
      const { a, b, sync } = await fresh();
      const dev = enroll(a, 'lab-pc');
      a.groups.add('lab', 'none', { tag: 'lab' });
      a.groups.add('prod', 'full', null);
      a.groups.setTags(dev.id, ['lab', 'linux']);
      await sync();
      expect(b.groups.tags(dev.id)).toEqual(['lab', 'linux']);
      expect(b.groups.sessionRefusal(dev)).toMatch(/no automated remediation level/);
      a.groups.assign(dev.id, 'prod', 'admin');
      await sync();
      expect(b.groups.groupOf(dev)).toMatchObject({ group: { name: 'prod' }, by: 'assigned' });
      expect(b.groups.sessionRefusal(dev)).toBeNull();
      a.groups.assign(dev.id, null, 'admin');
      a.groups.setLevel('lab', 'semi');
      await sync();
      expect(b.groups.groupOf(dev)).toMatchObject({ group: { name: 'lab', remediationLevel: 'semi' }, by: 'rule' });
    });

    it('an enroll token made on A enrolls a device on B, which A then knows with its key', async () => {
      const { a, b, sync } = await fresh();
      const { token } = a.store.createEnrollToken(60_000);
      await sync();
      const r = b.store.enrollDevice(token, info('web-1'), 'the-public-key');
      expect(r.ok).toBe(true);
      const deviceId = (r as { deviceId: string }).deviceId;
      await sync();
      expect(a.store.getDevice(deviceId)).toMatchObject({
        name: 'web-1',
        publicKey: 'the-public-key',
        os: 'Linux 6.1',
      });
      // The token is spent everywhere once the use replicated.
      expect(a.store.enrollDevice(token, info('web-2'), 'k2')).toEqual({
        ok: false,
        error: 'enrollment token was already used',
      });
    });

    it('library file metadata, publishers and indicators replicate', async () => {
      const { a, b, sync } = await fresh();
      const temp = path.join(a.library.uploadsDir, 'upload-1');
      writeFileSync(temp, 'echo hello\n');
      const file: LibraryFile = {
        name: 'hello.sh',
        description: 'says hello',
        parametersDescription: '',
        parametersExample: '',
        size: 11,
        sha256: 'a'.repeat(64),
        uploadedBy: 'admin',
        uploadedAt: new Date().toISOString(),
        signature: null,
        publisher: null,
      };
      await a.library.commit(temp, file, false);
      const publisherKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
      a.library.addPublisher('acme', publisherKey, 'admin');
      a.responses.addIndicator('b'.repeat(64), 'bad tool', 'admin');
      await sync();
      expect(b.library.get('hello.sh')).toEqual(file);
      expect(b.library.getPublisher('acme')).toEqual(a.library.getPublisher('acme'));
      expect(b.responses.listIndicators()).toEqual([
        expect.objectContaining({ sha256: 'b'.repeat(64), description: 'bad tool' }),
      ]);
      // Replacing an indicator (INSERT OR REPLACE on A) is an update on B.
      a.responses.addIndicator('b'.repeat(64), 'renamed', 'admin');
      await sync();
      expect(b.responses.listIndicators().map((i) => i.description)).toEqual(['renamed']);
    });

    it('deletes replicate (indicator, group, library file, device with its tags and membership)', async () => {
      const { a, b, sync } = await fresh();
      const dev = enroll(a, 'gone-pc');
      a.groups.add('temp', 'semi', null);
      a.groups.assign(dev.id, 'temp', 'admin');
      a.groups.setTags(dev.id, ['x']);
      a.responses.addIndicator('c'.repeat(64), '', 'admin');
      a.store.setSetting('unsignedScripts', 'true');
      await sync();
      expect(b.groups.get('temp')).not.toBeNull();
      expect(b.responses.listIndicators()).toHaveLength(1);
      expect(a.responses.deleteIndicator('c'.repeat(64))).toBe(true);
      a.groups.delete('temp');
      a.db.prepare('DELETE FROM devices WHERE id = ?').run(dev.id); // cascades to its tags on A
      await sync();
      expect(b.responses.listIndicators()).toEqual([]);
      expect(b.groups.get('temp')).toBeNull();
      expect(b.store.getDevice(dev.id)).toBeNull();
      expect(b.groups.tags(dev.id)).toEqual([]);
      expect(b.db.prepare('SELECT count(*) FROM device_group_members').pluck().get()).toBe(0);
      expect(b.store.getSetting('unsignedScripts')).toBe('true');
    });

    it('two nodes writing the same setting at once converge to the same value', async () => {
      const { a, b, sync } = await fresh();
      for (let round = 0; round < 5; round++) {
        a.store.setSetting('liveResponse', `a${round}`);
        b.store.setSetting('liveResponse', `b${round}`);
        a.store.setSetting('liveResponseServers', `a${round}`);
        b.store.setSetting('liveResponseServers', `b${round}`);
        await Promise.all([sync(), sync()]);
        await sync();
        expect(b.store.getSetting('liveResponse')).toBe(a.store.getSetting('liveResponse'));
        expect(b.store.getSetting('liveResponseServers')).toBe(a.store.getSetting('liveResponseServers'));
      }
      // A burst: writes interleaved with the publishing and applying of the other node's writes.
      for (let i = 0; i < 60; i++) {
        a.store.setSetting('burst', `a${i}`);
        if (i % 3 === 0) b.store.setSetting('burst', `b${i}`);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 8)));
      }
      await sync();
      expect(b.store.getSetting('burst')).toBe(a.store.getSetting('burst'));
    });

    it("a node's newer write is never undone, even for a moment, by the echo of its older one", async () => {
      const { a, b, sync } = await fresh();
      // Writes every few ms: the echoes of the earlier ones come back while the later ones are not yet published.
      const undone: string[] = [];
      for (let i = 0; i < 150; i++) {
        a.store.setSetting('liveResponse', `v${i}`);
        await new Promise((r) => setTimeout(r, 1 + (i % 4)));
        const now = a.store.getSetting('liveResponse');
        if (now !== `v${i}`) undone.push(`${now} after v${i}`);
      }
      expect(undone).toEqual([]);
      await sync();
      expect(b.store.getSetting('liveResponse')).toBe('v149');
    });

    // On one database the second creation is refused outright: nothing to converge.
    itAcrossNodes('two nodes creating the same user name at once end with the same single user', async () => {
      const { a, b, sync } = await fresh();
      expect(a).not.toBe(b);
      const made: Record<string, string[]> = {};
      for (let i = 0; i < 8; i++) {
        const name = `erin${i}`;
        const first = i % 2 ? a : b;
        const second = i % 2 ? b : a;
        made[name] = [first.store.createUser(name, 'basic', false).id];
        // Apart by 0 to 30 ms: the second write lands before, while or after the first one is published (after
        // it is applied on the second node, that node refuses the name as a single node does).
        await new Promise((r) => setTimeout(r, (i * 7) % 31));
        try {
          made[name]!.push(second.store.createUser(name, 'admin', false).id);
        } catch (e) {
          expect((e as Error).message).toBe(`user ${name} already exists`);
        }
      }
      await sync();
      for (const name of Object.keys(made)) {
        const id = a.users.userId(name);
        expect(made[name]).toContain(id);
        expect(b.users.userId(name), name).toBe(id);
      }
      expect(a.db.prepare("SELECT count(*) FROM users WHERE name LIKE 'erin%'").pluck().get()).toBe(8);
      expect(b.db.prepare("SELECT count(*) FROM users WHERE name LIKE 'erin%'").pluck().get()).toBe(8);
    });

    itAcrossNodes('a node started later adopts the whole state (and drops what it had alone)', async () => {
      const fx = await fresh();
      const join = clusterOnly(fx.join, 'join()');
      const { a, sync } = fx;
      const user = a.store.createUser('frank', 'admin', true);
      const token = a.store.issueApiToken(user.id);
      const dev = enroll(a, 'db-1');
      a.groups.add('db', 'none', { name: 'db-*' });
      a.tenant.apply({ limits: { maxSessionsPerTenant: 5 } });
      await sync();
      const c = await join();
      expect(c.store.authenticate(token)).toEqual(user);
      expect(c.store.getDevice(dev.id)?.publicKey).toBe(dev.publicKey);
      expect(c.groups.sessionRefusal(dev)).toMatch(/group db/);
      expect(c.tenant.limits().maxSessionsPerTenant).toBe(5);
      // It was made by `lr-server init` on its own: its own admin is not the cluster's.
      expect(c.users.userId('local-admin')).toBeNull();
      expect(a.users.userId('local-admin')).toBeNull();
    });

    itAcrossNodes('a node that wrote while its replication was stopped publishes on restart', async () => {
      const fx = await fresh();
      const pauseA = clusterOnly(fx.pauseA, 'pauseA()');
      const { a, b, sync } = fx;
      const resume = await pauseA();
      const user = a.store.createUser('grace', 'basic', false);
      const token = a.store.issueApiToken(user.id);
      a.tenant.apply({ liveResponse: false });
      await sync(); // B alone (A is stopped)
      expect(b.store.authenticate(token)).toBeNull();
      await resume();
      await sync();
      expect(b.store.authenticate(token)).toEqual(user);
      expect(b.tenant.liveResponse()).toBe(false);
    });

    itAcrossNodes('malformed entries in the bucket are skipped, the rest applies', async () => {
      const fx = await fresh();
      const rawPut = clusterOnly(fx.rawPut, 'rawPut()');
      const { a, b, sync } = fx;
      const key = (t: string, pk: unknown[]) => `${t}.${Buffer.from(JSON.stringify(pk)).toString('base64url')}`;
      await rawPut(key('users', ['x1']), 'not json');
      await rawPut(
        key('users', ['x2']),
        JSON.stringify({
          id: 'x2',
          name: 'mallory',
          role: 'root',
          library_manager: 0,
          created_at: 'now',
          disabled_at: null,
        }),
      );
      await rawPut(
        key('users', ['x3']),
        JSON.stringify({
          id: 'x3',
          name: 'eve',
          role: 'admin',
          library_manager: 0,
          created_at: 'now',
          disabled_at: null,
          extra: 1,
        }),
      );
      await rawPut(
        key('users', ['x4']),
        JSON.stringify({
          id: 'other',
          name: 'eve',
          role: 'admin',
          library_manager: 0,
          created_at: 'now',
          disabled_at: null,
        }),
      );
      await rawPut(key('sessions', ['s1']), JSON.stringify({ id: 's1' }));
      await rawPut('settings.WyJ4Il0=', '{}'); // padded: not the encoding nodes write
      a.store.setSetting('after', 'ok');
      await sync();
      expect(b.store.getSetting('after')).toBe('ok');
      expect(b.db.prepare("SELECT count(*) FROM users WHERE id IN ('x1','x2','x3','x4','other')").pluck().get()).toBe(
        0,
      );
      expect(b.db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(0);
    });
  });
}

storeContract('sqlite (one node)', 'one', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'lr-store-'));
  const n = newNode(root, 'a');
  return Promise.resolve({
    a: n,
    b: n,
    sync: () => Promise.resolve(),
    dispose: () => {
      n.store.close();
      rmSync(root, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});

describeNeeds(natsSkipReason)('JetStream', () => {
  let cluster: NatsCluster;
  let bucketNo = 0;
  const log = new Logger('store-contract', 'error');
  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  async function contextFor(i: number, nodeId: string): Promise<ClusterContext> {
    const nc: NatsConnection = await cluster.connect(i);
    const js = jetstream(nc, { timeout: 10_000 });
    return { nc, js, jsm: await js.jetstreamManager(), nodeId, replicas: 3, log, ...testAuth(log) };
  }

  storeContract('jetstream (two nodes, 3-server NATS cluster)', 'several', async () => {
    const bucket = `lr-state-${++bucketNo}`;
    const root = mkdtempSync(path.join(tmpdir(), 'lr-store-'));
    const contexts: ClusterContext[] = [];
    const running = new Map<Node, StateReplication>();
    const nodes: Node[] = [];
    const startNode = async (n: Node, ctx: ClusterContext) => {
      // What service.ts does: the limit overrides are cached, read again when settings change (from the
      // start-up sync on: the TenantSettings exists before the replication starts).
      const onApplied = (t: string) => {
        if (t === 'settings') n.tenant.reload();
      };
      running.set(n, await StateReplication.start(ctx, n.db, { bucket, onApplied }));
    };
    const addNode = async (name: string, server: number) => {
      const n = newNode(root, name);
      nodes.push(n);
      const ctx = await contextFor(server, name);
      contexts.push(ctx);
      return { n, ctx };
    };
    const first = await addNode('a', 0);
    // Node A was made by `lr-server init`: it seeds the new cluster with its rows (its admin).
    first.n.store.createUser('admin', 'admin', true);
    await startNode(first.n, first.ctx);
    const second = await addNode('b', 1);
    await startNode(second.n, second.ctx);
    const sync = async () => {
      for (const r of running.values()) await r.synced();
      // Again: a node's synced() published its writes after the ones before it had looked.
      for (const r of running.values()) await r.synced();
    };
    return {
      a: first.n,
      b: second.n,
      sync,
      join: async () => {
        const third = await addNode('c', 2);
        third.n.store.createUser('local-admin', 'admin', true);
        await startNode(third.n, third.ctx);
        return third.n;
      },
      pauseA: async () => {
        await running.get(first.n)?.stop();
        running.delete(first.n);
        return () => startNode(first.n, first.ctx);
      },
      rawPut: async (key, value) => {
        await (await new Kvm(first.ctx.js).open(bucket)).put(key, value);
      },
      dispose: async () => {
        for (const r of running.values()) await r.stop();
        await new Kvm(contexts[0]!.js)
          .open(bucket)
          .then((kv) => kv.destroy())
          .catch(() => undefined);
        await Promise.all(contexts.map((c) => c.nc.close()));
        for (const n of nodes) n.store.close();
        rmSync(root, { recursive: true, force: true });
      },
    };
  });
});
