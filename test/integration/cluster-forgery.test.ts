// Security finding 1: the nodes applied every well-formed entry of the shared NATS buckets without knowing
// who wrote it. Here a client on the NATS port (it has the servers' token: an insider, or a leaked
// credential) attacks three real lr-server nodes on a real 3-server NATS cluster (TLS + token): it forges
// an admin user with a token of its own and turns unsignedScripts on; it replays authentic entries it
// captured; and it fuzzes every subject and bucket the nodes use. Nothing may be applied, the drops are
// logged, and every node keeps serving (a command round trip through each node still works).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueToken } from '../../src/server/auth.js';
import { ClusterMac, sealValue } from '../../src/server/cluster/cluster-key.js';
import { rowKey } from '../../src/server/cluster/state-tables.js';
import { LrCluster } from '../cluster/lr-cluster.js';
import { natsSkipReason } from '../cluster/nats-cluster.js';
import { describeNeeds } from '../needs.js';
import { run, waitFor } from './harness.js';

const NOW = () => new Date().toISOString();

describeNeeds(natsSkipReason)(
  'cluster: shared state is authentic (forged, replayed and malformed entries are never applied)',
  () => {
    let c: LrCluster;
    let nc: NatsConnection;
    let state: KV;
    let agent: { deviceId: string };
    let barrier = 900;

    beforeAll(async () => {
      c = await LrCluster.start(3);
      agent = await c.addAgent(3, 'victim');
      nc = await c.nats.connect(0);
      state = await new Kvm(nc).open('lr-state');
    }, 180_000);

    afterAll(async () => {
      await nc?.close().catch(() => undefined);
      await c?.stop();
    }, 60_000);

    /** A profile holding `token` for node i (what an attacker would use against the REST API). */
    function profileWith(i: number, user: string, token: string): string {
      const file = join(c.dir, `${user}-${i}-${randomBytes(3).toString('hex')}.profile.json`);
      const admin = JSON.parse(readFileSync(c.profile(i), 'utf8')) as { url: string; ca: string };
      writeFileSync(file, JSON.stringify({ kind: 'lr-profile', url: admin.url, ca: admin.ca, user, token }), {
        mode: 0o600,
      });
      return file;
    }

    async function settings(i: number): Promise<{ unsignedScripts: boolean; limits: Record<string, number> }> {
      const r = await c.lr(i, ['settings', 'get', '--json']);
      if (r.code !== 0) throw new Error(`node ${i}: ${r.stderr}`);
      return JSON.parse(r.stdout) as { unsignedScripts: boolean; limits: Record<string, number> };
    }

    /**
     * An authentic write after the attacker's, seen by every node: the watchers apply the bucket in order,
     * so once every node shows it, every forged entry before it has been judged.
     */
    async function barrierAllNodes(): Promise<void> {
      const value = ++barrier;
      const r = await c.lr(1, ['settings', 'set', 'limits.idleTimeoutSec', String(value)]);
      expect(r.code, r.stderr).toBe(0);
      for (const i of [1, 2, 3])
        await waitFor(
          `node ${i} applied the barrier`,
          async () => (await settings(i)).limits.idleTimeoutSec === value,
          20_000,
        );
    }

    /** Every node still serves: REST answers, and a command round trip to the agent on node 3 works from each node. */
    async function everyNodeServes(): Promise<void> {
      for (const i of [1, 2, 3]) {
        const r = await c.lr(i, ['exec', 'victim', 'dir /', '--json']);
        expect(r.code, `node ${i}: ${r.stderr}`).toBe(0);
        expect(c.node(i).proc?.exitCode ?? null, `node ${i} still running`).toBeNull();
      }
    }

    async function usersOf(i: number): Promise<string[]> {
      const r = await run('lr-server', ['user', 'list', '--data', c.node(i).dataDir, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { name: string }[]).map((u) => u.name).sort();
    }

    it('a forged admin user with its own token and unsignedScripts=on is refused on every node; the drop is logged; the nodes keep serving', async () => {
      const usersBefore = await usersOf(1);
      expect((await settings(1)).unsignedScripts).toBe(false);
      // The rows exactly as the nodes wrote them before the fix (the row JSON as the value)…
      const t = issueToken('lr');
      const user = {
        id: 'evil00000001',
        name: 'evil',
        role: 'admin',
        library_manager: 1,
        created_at: NOW(),
        disabled_at: null,
      };
      const token = {
        id: t.id,
        user_id: user.id,
        secret_hash: t.secretHash,
        created_at: NOW(),
        expires_at: null,
        revoked_at: null,
      };
      await state.put(rowKey('users', JSON.stringify([user.id])), JSON.stringify(user));
      await state.put(rowKey('api_tokens', JSON.stringify([token.id])), JSON.stringify(token));
      await state.put(
        rowKey('settings', JSON.stringify(['unsignedScripts'])),
        JSON.stringify({ key: 'unsignedScripts', value: 'true' }),
      );
      // …and sealed like the nodes write them now, but under a key the attacker made up.
      const t2 = issueToken('lr');
      const wrong = new ClusterMac(randomBytes(32));
      const seal = (table: string, pk: unknown[], row: unknown) => {
        const key = rowKey(table, JSON.stringify(pk));
        return state.put(
          key,
          sealValue(wrong, 'state', `lr-state/${key}`, {
            writer: c.node(2).id,
            version: String(Date.now() + 3_600_000),
            data: JSON.stringify(row),
          }),
        );
      };
      const user2 = { ...user, id: 'evil00000002', name: 'evil2' };
      await seal('users', [user2.id], user2);
      await seal('api_tokens', [t2.id], { ...token, id: t2.id, user_id: user2.id, secret_hash: t2.secretHash });
      await seal('settings', ['unsignedScripts'], { key: 'unsignedScripts', value: 'true' });
      await barrierAllNodes();

      for (const i of [1, 2, 3]) {
        for (const [name, tok] of [
          ['evil', t.token],
          ['evil2', t2.token],
        ] as const) {
          const r = await run('lr', ['--profile', profileWith(i, name, tok), 'devices', '--json'], { env: c.env });
          expect(r.code, `node ${i} accepted the forged token of ${name}: ${r.stdout}`).not.toBe(0);
          expect(r.stderr).toMatch(/not authenticated/);
        }
        expect((await settings(i)).unsignedScripts, `node ${i}: unsignedScripts`).toBe(false);
        expect(await usersOf(i), `node ${i}: users`).toEqual(usersBefore);
        expect(c.node(i).proc?.output(), `node ${i} logs the drop`).toMatch(
          /cluster entry dropped.*bad MAC|cluster entry dropped.*not a sealed entry/,
        );
      }
      await everyNodeServes();
    }, 120_000);

    it('authentic entries captured and published again (replays) are not applied: a setting switched off stays off, a revoked token stays revoked', async () => {
      const key = rowKey('settings', JSON.stringify(['unsignedScripts']));
      expect((await c.lr(1, ['settings', 'set', 'unsignedScripts', 'on'])).code).toBe(0);
      const on = await waitFor('the "on" entry in the bucket', async () => {
        const e = await state.get(key);
        return e && e.revision > 0 && e.string().includes('true') ? e.value : undefined;
      });
      expect((await c.lr(2, ['settings', 'set', 'unsignedScripts', 'off'])).code).toBe(0);
      for (const i of [1, 2, 3])
        await waitFor(`node ${i} sees unsignedScripts off`, async () => (await settings(i)).unsignedScripts === false);

      // A user and its token, captured while valid; then the user is disabled (offline CLI on node 1's folder).
      const profile = join(c.dir, 'mallory.profile.json');
      const add = await run('lr-server', [
        'user',
        'add',
        'mallory',
        '--data',
        c.node(1).dataDir,
        '--role',
        'admin',
        '--out',
        profile,
      ]);
      expect(add.code, add.stderr).toBe(0);
      const malloryToken = (JSON.parse(readFileSync(profile, 'utf8')) as { token: string }).token;
      await waitFor(
        'mallory works on node 3',
        async () =>
          (await run('lr', ['--profile', profileWith(3, 'mallory', malloryToken), 'devices', '--json'], { env: c.env }))
            .code === 0,
        20_000,
      );
      const userKeys: string[] = [];
      for await (const k of await state.keys('users.>')) userKeys.push(k);
      const captured = new Map<string, Uint8Array>();
      for (const k of userKeys) {
        const e = await state.get(k);
        if (e?.string().includes('mallory')) captured.set(k, e.value);
      }
      expect(captured.size).toBe(1);
      const revoke = await run('lr-server', ['user', 'revoke', 'mallory', '--data', c.node(1).dataDir]);
      expect(revoke.code, revoke.stderr).toBe(0);
      for (const i of [1, 2, 3]) {
        await waitFor(
          `mallory refused on node ${i}`,
          async () =>
            (
              await run('lr', ['--profile', profileWith(i, 'mallory', malloryToken), 'devices', '--json'], {
                env: c.env,
              })
            ).code !== 0,
          20_000,
        );
      }

      // The replays.
      await state.put(key, on);
      for (const [k, v] of captured) await state.put(k, v);
      await barrierAllNodes();
      for (const i of [1, 2, 3]) {
        expect((await settings(i)).unsignedScripts, `node ${i}: unsignedScripts after the replay`).toBe(false);
        const r = await run('lr', ['--profile', profileWith(i, 'mallory', malloryToken), 'devices', '--json'], {
          env: c.env,
        });
        expect(r.code, `node ${i} accepted a revoked token after the replay`).not.toBe(0);
      }
      // Each node logs the drop: at once, or (when another drop of the kind was reported in the last 10 s)
      // in the summary at the end of that interval.
      for (const i of [1, 2, 3]) {
        await waitFor(
          `node ${i} logs the replay it dropped`,
          async () => /cluster entr(y|ies) dropped.*state-replay/.test(c.node(i).proc?.output() ?? ''),
          15_000,
        );
      }
      // The bucket does not keep the replayed value either: the writer of the refused entry published its row
      // again, so a node joining later would not adopt it.
      await waitFor(
        'the bucket holds "off" again',
        async () => ((await state.get(key))?.string() ?? '').includes('false'),
        20_000,
      );
      await everyNodeServes();
    }, 180_000);

    it('fuzz: forged, replayed, malformed, oversized and wrongly keyed entries on every bucket and subject: nothing applied, every node keeps serving', async () => {
      const js = jetstream(nc);
      const kvm = new Kvm(nc);
      const buckets = await Promise.all(
        ['lr-nodes', 'lr-presence', 'lr-file-tokens', 'lr-sessions'].map((b) => kvm.open(b)),
      );
      const [nodesKv, presenceKv, grantsKv, sessionsKv] = buckets as [KV, KV, KV, KV];
      const usersBefore = await Promise.all([1, 2, 3].map((i) => usersOf(i)));
      const settingsBefore = (await settings(1)).unsignedScripts;
      const devicesBefore = JSON.stringify((await c.devices(1)).map((d) => [d.id, d.name, d.node]));
      const ids = c.nodes.map((n) => n.id);
      const wrong = new ClusterMac(randomBytes(32));
      const rnd = (n: number) => randomBytes(n).toString('base64url');
      const junk = (): string | Uint8Array => {
        const pick = Math.floor(Math.random() * 7);
        switch (pick) {
          case 0:
            return randomBytes(Math.floor(Math.random() * 512));
          case 1:
            return '{"w":"x","v":"1","d":"{}","m":"' + rnd(32) + '"}';
          case 2:
            return JSON.stringify({ w: ids[0], v: String(Date.now()), d: null, m: rnd(32) });
          case 3:
            return 'x'.repeat(900 * 1024); // oversized, just under max_payload
          case 4:
            return JSON.stringify({
              w: ids[1],
              v: '1e309',
              d: '{"key":"unsignedScripts","value":"true"}',
              m: 'A'.repeat(43),
            });
          case 5:
            return '{"w":';
          default:
            return JSON.stringify([1, 2, 3]);
        }
      };
      const stateKeys: string[] = [];
      for await (const k of await state.keys()) stateKeys.push(k);

      // Captured authentic entries to replay: a presence entry and a node heartbeat.
      const presence = await presenceKv.get(agent.deviceId);
      const heartbeat = await nodesKv.get(ids[2] as string);
      expect(presence?.value.length).toBeGreaterThan(0);
      expect(heartbeat?.value.length).toBeGreaterThan(0);

      for (let round = 0; round < 40; round++) {
        // lr-state: existing keys (junk, forged MACs, deletes, purges) and made-up ones.
        const k = stateKeys[round % stateKeys.length] as string;
        if (round % 5 === 0) await state.delete(k);
        else if (round % 7 === 0) await state.purge(k);
        else await state.put(k, junk());
        await state.put(
          `settings.${Buffer.from(JSON.stringify(['unsignedScripts'])).toString('base64url')}`,
          sealValue(wrong, 'state', 'lr-state/x', {
            writer: ids[0] as string,
            version: String(Date.now() + 1e9),
            data: '{"key":"unsignedScripts","value":"true"}',
          }),
        );
        await state.put(`users.${rnd(9)}`, junk()).catch(() => undefined);
        await state.put(`nosuchtable.${rnd(6)}`, junk()).catch(() => undefined);
        // Presence and heartbeats: junk, deletes, replays of what was captured, forged nodes.
        await presenceKv.put(agent.deviceId, round % 2 ? junk() : JSON.stringify({ node: ids[0], since: Date.now() }));
        if (round % 6 === 0) await presenceKv.delete(agent.deviceId);
        if (presence && round % 4 === 0) await presenceKv.put(agent.deviceId, presence.value);
        await nodesKv.put(
          `node-forged${round % 3}`,
          JSON.stringify({ publicUrl: 'wss://evil.example:443', startedAt: NOW() }),
        );
        if (round % 8 === 0) await nodesKv.delete(ids[round % 3] as string);
        if (heartbeat && round % 4 === 1) await nodesKv.put(ids[2] as string, heartbeat.value);
        // Download grants and session claims.
        await grantsKv.put(
          `t.${randomBytes(32).toString('hex')}`,
          JSON.stringify({
            name: 'x.sh',
            deviceId: agent.deviceId,
            sha256: 'a'.repeat(64),
            expiresAt: Date.now() + 60_000,
          }),
        );
        await sessionsKv.put(
          `dev.${Buffer.from(agent.deviceId).toString('base64url')}`,
          JSON.stringify({
            sessionId: 'forged',
            deviceId: agent.deviceId,
            userId: 'u',
            userName: 'evil',
            startedAt: NOW(),
            node: ids[0],
          }),
        );
        // Routing subjects: junk frames, frames with a forged MAC, oversized ones.
        for (const id of ids) {
          const h = headers();
          h.set('from', ids[(round + 1) % 3] as string);
          h.set('dev', agent.deviceId);
          h.set('job', 'job-' + round);
          h.set('k', ['records', 'end', 'data', 'text', 'trace'][round % 5] as string);
          h.set('Lr-Version', `${randomBytes(8).toString('hex')}.${round + 1}.${Date.now()}`);
          h.set('Lr-Mac', rnd(32));
          nc.publish(`lr.agent.${id}`, JSON.stringify({ t: 'job.cancel', jobId: 'x', reason: 'cancelled' }), {
            headers: h,
          });
          nc.publish(`lr.out.${id}`, junk(), { headers: h });
        }
        // The command log stream: forged entries on real nodes' subjects.
        await js.publish(
          `lr.log.${ids[round % 3]}.forged${round}`,
          JSON.stringify({ id: `forged${round}`, node: ids[round % 3], seq: 1, commandLine: 'rm -rf /' }),
        );
      }
      await nc.flush();
      await barrierAllNodes();

      for (const i of [1, 2, 3]) {
        expect(await usersOf(i), `node ${i}: users`).toEqual(usersBefore[i - 1]);
        expect((await settings(i)).unsignedScripts, `node ${i}: unsignedScripts`).toBe(settingsBefore);
        const log = await c.lr(i, ['log', '--json']);
        expect(log.code, log.stderr).toBe(0);
        expect(log.stdout).not.toMatch(/forged\d/);
        const urls = c.clusterUrls(i);
        expect(urls.join(' ')).not.toMatch(/evil\.example/);
      }
      // The device is still seen on node 3 from every node, and the session ledger's forged claim blocks nobody.
      expect(JSON.stringify((await c.devices(1)).map((d) => [d.id, d.name, d.node]))).toBe(devicesBefore);
      await everyNodeServes();
    }, 240_000);
  },
);
