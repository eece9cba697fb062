/**
 * The session ledger contract: one suite, run against the single node's in-memory ledger and
 * against the JetStream ledger of a 3-server NATS cluster on loopback, where three ledgers play three
 * service nodes, each connected to a different server and sharing one bucket. Issue acceptance 2 at the
 * ledger level: 100 concurrent opens on one device spread over the nodes, exactly one wins.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import {
  LocalSessionLedger,
  type OpenResult,
  type SessionClaim,
  type SessionLedger,
  type SessionLimits,
} from '../../src/server/session-ledger.js';
import { NatsSessionLedger } from '../../src/server/cluster/nats-session-ledger.js';
import { NatsCluster, natsSkipReason, testMac } from '../cluster/nats-cluster.js';
import { describeNeeds } from '../needs.js';

interface Fixture {
  /** Three "nodes" (the same object three times for the single node). */
  ledgers: SessionLedger[];
  /** Simulates the death of node i: its connection goes, nothing is released. Absent on a single node. */
  kill?: (i: number) => Promise<void>;
  leaseMs?: number;
  dispose(): Promise<void>;
}

const roomy: SessionLimits = { maxSessionsPerUser: 1000, maxSessionsPerTenant: 1000 };
let seq = 0;

function claim(deviceId: string, userId: string): SessionClaim {
  seq++;
  return {
    sessionId: `s${seq}-${Math.random().toString(36).slice(2, 8)}`,
    deviceId,
    userId,
    userName: `name-${userId}`,
    startedAt: new Date(1_800_000_000_000 + seq).toISOString(),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Retries an open refused with device_busy until it succeeds; returns the time it did. */
async function openWhenFree(
  ledger: SessionLedger,
  make: () => SessionClaim,
  limits: SessionLimits,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await ledger.tryOpen(make(), limits);
    if (r.ok) return Date.now();
    expect(r.code).toBe('device_busy');
    if (Date.now() > deadline) throw new Error(`still busy after ${timeoutMs} ms`);
    await sleep(100);
  }
}

function ledgerContract(name: string, nodes: 'one' | 'several', create: () => Promise<Fixture>): void {
  // A single node has no other node to die: that test is not registered there (not skipped: it does not exist for it).
  const itAcrossNodes = nodes === 'several' ? it : () => undefined;
  describe(`session ledger contract: ${name}`, () => {
    let f: Fixture;
    // A fresh ledger (bucket) per test: the tenant set is shared by every session of a ledger.
    async function fresh(): Promise<Fixture> {
      f = await create();
      return f;
    }
    afterEach(async () => {
      await f?.dispose();
    });

    it('refuses a second session on a busy device, naming the holder', async () => {
      const { ledgers } = await fresh();
      const first = claim('dev-a', 'u1');
      expect(await ledgers[0]!.tryOpen(first, roomy)).toEqual({ ok: true });
      const r = await ledgers[1]!.tryOpen(claim('dev-a', 'u2'), roomy);
      expect(r).toEqual({ ok: false, code: 'device_busy', holder: first });
      // The same user on another node is refused too: one session per device, whoever asks.
      expect((await ledgers[2]!.tryOpen(claim('dev-a', 'u1'), roomy)).ok).toBe(false);
      expect(await ledgers[2]!.list()).toEqual([first]);
    });

    it('enforces the per-user limit across nodes', async () => {
      const { ledgers } = await fresh();
      const limits = { maxSessionsPerUser: 2, maxSessionsPerTenant: 10 };
      expect((await ledgers[0]!.tryOpen(claim('d1', 'u1'), limits)).ok).toBe(true);
      expect((await ledgers[1]!.tryOpen(claim('d2', 'u1'), limits)).ok).toBe(true);
      expect(await ledgers[2]!.tryOpen(claim('d3', 'u1'), limits)).toEqual({
        ok: false,
        code: 'user_limit',
        count: 2,
        limit: 2,
      });
      // Refused: nothing of it is left behind (the device is free for someone else).
      expect((await ledgers[2]!.tryOpen(claim('d3', 'u2'), limits)).ok).toBe(true);
      expect((await ledgers[0]!.list()).length).toBe(3);
    });

    it('enforces the per-tenant limit across nodes', async () => {
      const { ledgers } = await fresh();
      const limits = { maxSessionsPerUser: 10, maxSessionsPerTenant: 3 };
      for (let i = 0; i < 3; i++)
        expect((await ledgers[i % 3]!.tryOpen(claim(`d${i}`, `u${i}`), limits)).ok).toBe(true);
      expect(await ledgers[1]!.tryOpen(claim('d9', 'u9'), limits)).toEqual({
        ok: false,
        code: 'tenant_limit',
        count: 3,
        limit: 3,
      });
      // The refused open took no user slot: u9 can still open once the tenant has room.
      const sessions = await ledgers[0]!.list();
      expect(sessions.map((s) => s.userId).sort()).toEqual(['u0', 'u1', 'u2']);
    });

    it('checks the device first, then the user, then the tenant', async () => {
      const { ledgers } = await fresh();
      const limits = { maxSessionsPerUser: 1, maxSessionsPerTenant: 1 };
      expect((await ledgers[0]!.tryOpen(claim('d1', 'u1'), limits)).ok).toBe(true);
      expect(await ledgers[1]!.tryOpen(claim('d1', 'u1'), limits)).toMatchObject({ ok: false, code: 'device_busy' });
      expect(await ledgers[1]!.tryOpen(claim('d2', 'u1'), limits)).toMatchObject({ ok: false, code: 'user_limit' });
      expect(await ledgers[1]!.tryOpen(claim('d2', 'u2'), limits)).toMatchObject({ ok: false, code: 'tenant_limit' });
    });

    it('frees the device, the user slot and the tenant slot on close', async () => {
      const { ledgers } = await fresh();
      const limits = { maxSessionsPerUser: 1, maxSessionsPerTenant: 1 };
      const c = claim('d1', 'u1');
      expect((await ledgers[0]!.tryOpen(c, limits)).ok).toBe(true);
      await ledgers[0]!.close(c.sessionId);
      await ledgers[0]!.close(c.sessionId); // twice: harmless
      await ledgers[0]!.close('no-such-session');
      expect(await ledgers[0]!.list()).toEqual([]);
      // Same device, another user, another node: the device and the tenant slot are free.
      const d = claim('d1', 'u2');
      expect((await ledgers[1]!.tryOpen(d, limits)).ok).toBe(true);
      await ledgers[1]!.close(d.sessionId);
      // The first user's slot is free as well.
      expect((await ledgers[2]!.tryOpen(claim('d2', 'u1'), limits)).ok).toBe(true);
    });

    it('100 concurrent opens on one device spread over the nodes: exactly one wins', async () => {
      const { ledgers } = await fresh();
      const claims = Array.from({ length: 100 }, (_, i) => claim('contended', `u${i}`));
      const results: OpenResult[] = await Promise.all(claims.map((c, i) => ledgers[i % 3]!.tryOpen(c, roomy)));
      const winners = claims.filter((_, i) => results[i]!.ok);
      expect(winners.length).toBe(1);
      for (const r of results) if (!r.ok) expect(r).toEqual({ ok: false, code: 'device_busy', holder: winners[0] });
      expect(await ledgers[1]!.list()).toEqual(winners);
    });

    it('concurrent opens on different devices never exceed the tenant or user limit', async () => {
      const { ledgers } = await fresh();
      const tenant = { maxSessionsPerUser: 100, maxSessionsPerTenant: 10 };
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => ledgers[i % 3]!.tryOpen(claim(`t${i}`, `u${i}`), tenant)),
      );
      expect(results.filter((r) => r.ok).length).toBe(10);
      for (const r of results) if (!r.ok) expect(r).toMatchObject({ code: 'tenant_limit', limit: 10 });
      expect((await ledgers[0]!.list()).length).toBe(10);

      const user = { maxSessionsPerUser: 4, maxSessionsPerTenant: 100 };
      const mine = await Promise.all(
        Array.from({ length: 20 }, (_, i) => ledgers[i % 3]!.tryOpen(claim(`m${i}`, 'same-user'), user)),
      );
      expect(mine.filter((r) => r.ok).length).toBe(4);
      expect((await ledgers[2]!.list()).filter((s) => s.userId === 'same-user').length).toBe(4);
    });

    itAcrossNodes('a dead node loses its sessions after the lease; live nodes keep theirs', async () => {
      const { ledgers, kill, leaseMs } = await fresh();
      if (!kill || !leaseMs) throw new Error('a fixture of several nodes must offer kill() and leaseMs');
      const limits = { maxSessionsPerUser: 10, maxSessionsPerTenant: 3 };
      const kept = claim('kept', 'u0');
      expect((await ledgers[0]!.tryOpen(kept, limits)).ok).toBe(true);
      expect((await ledgers[2]!.tryOpen(claim('d1', 'u1'), limits)).ok).toBe(true);
      expect((await ledgers[2]!.tryOpen(claim('d2', 'u2'), limits)).ok).toBe(true);
      expect(await ledgers[1]!.tryOpen(claim('d3', 'u3'), limits)).toMatchObject({ code: 'tenant_limit' });
      const t0 = Date.now();
      await kill(2);
      // Until the lease runs out, the dead node's sessions still hold their devices.
      expect(await ledgers[1]!.tryOpen(claim('d1', 'u3'), limits)).toMatchObject({ code: 'device_busy' });
      const freedAfter = await openWhenFree(ledgers[1]!, () => claim('d1', 'u3'), limits, leaseMs * 4);
      expect(freedAfter - t0).toBeLessThan(leaseMs * 4);
      // Its other session and its tenant slot are free too (leftover set members are dropped when a set is full).
      await openWhenFree(ledgers[0]!, () => claim('d2', 'u4'), limits, leaseMs * 4);
      // The live node's session outlived the dead one's lease: its own lease was refreshed.
      if (Date.now() - t0 < leaseMs * 2) await sleep(leaseMs * 2 - (Date.now() - t0));
      expect(await ledgers[1]!.tryOpen(claim('kept', 'u5'), limits)).toEqual({
        ok: false,
        code: 'device_busy',
        holder: kept,
      });
      expect((await ledgers[0]!.list()).map((s) => s.deviceId).sort()).toEqual(['d1', 'd2', 'kept']);
    });
  });
}

ledgerContract('LocalSessionLedger (single node)', 'one', () => {
  const l = new LocalSessionLedger();
  return Promise.resolve({ ledgers: [l, l, l], dispose: () => Promise.resolve() });
});

describeNeeds(natsSkipReason)('JetStream', () => {
  const LEASE_MS = 2_500;
  let cluster: NatsCluster;
  let bucketNo = 0;
  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  ledgerContract('NatsSessionLedger (3 nodes on a 3-server cluster)', 'several', async () => {
    const bucket = `lr-sessions-${++bucketNo}`;
    const conns: NatsConnection[] = [];
    const ledgers: NatsSessionLedger[] = [];
    // One after the other: the first creates the bucket (replicated on all three servers).
    for (let i = 0; i < 3; i++) {
      const nc = await cluster.connect(i);
      conns.push(nc);
      ledgers.push(
        await NatsSessionLedger.open(nc, {
          bucket,
          replicas: 3,
          leaseMs: LEASE_MS,
          nodeId: `node${i + 1}`,
          mac: testMac,
        }),
      );
    }
    const dead = new Set<number>();
    return {
      ledgers,
      leaseMs: LEASE_MS,
      kill: async (i) => {
        dead.add(i);
        await conns[i]!.close(); // no close() of its sessions, no stop(): its refresh just fails from now on
      },
      dispose: async () => {
        for (const l of ledgers) l.stop();
        await new Kvm(conns[0]!)
          .open(bucket)
          .then((kv) => kv.destroy())
          .catch(() => undefined);
        await Promise.all(conns.map((c, i) => (dead.has(i) ? undefined : c.close())));
      },
    };
  });

  it('releaseNode: the live nodes free the devices of a dead node at once (not after the lease), and only those', async () => {
    const bucket = `lr-sessions-release-${++bucketNo}`;
    const conns = [await cluster.connect(0), await cluster.connect(1)];
    const [a, b] = await Promise.all(
      conns.map((nc, i) =>
        NatsSessionLedger.open(nc, { bucket, replicas: 3, leaseMs: 60_000, nodeId: `node${i + 1}`, mac: testMac }),
      ),
    );
    try {
      const limits = { maxSessionsPerUser: 5, maxSessionsPerTenant: 5 };
      const claim = (sessionId: string, deviceId: string) => ({
        sessionId,
        deviceId,
        userId: 'u1',
        userName: 'ann',
        startedAt: new Date().toISOString(),
      });
      expect(await a!.tryOpen(claim('s1', 'd1'), limits)).toEqual({ ok: true });
      expect(await b!.tryOpen(claim('s2', 'd2'), limits)).toEqual({ ok: true });
      expect(await b!.tryOpen(claim('s3', 'd1'), limits)).toMatchObject({ ok: false, code: 'device_busy' });
      a!.stop();
      await conns[0]!.close(); // node1 dies without closing anything; its lease (60 s) would hold d1 long
      expect(await b!.releaseNode('node1')).toBe(1);
      expect(await b!.tryOpen(claim('s3', 'd1'), limits)).toEqual({ ok: true });
      expect((await b!.list()).map((c) => c.sessionId).sort()).toEqual(['s2', 's3']); // node2's own stayed
      expect(await b!.releaseNode('node1')).toBe(0);
    } finally {
      b!.stop();
      await new Kvm(conns[1]!)
        .open(bucket)
        .then((kv) => kv.destroy())
        .catch(() => undefined);
      await conns[1]!.close();
    }
  });
});
