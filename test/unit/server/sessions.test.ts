// SessionManager on top of its SessionLedger (cluster mode): opening is asynchronous now, and the
// ordering must stay right on one node; the messages are the ones analysts have always seen.
import { afterEach, describe, expect, it } from 'vitest';
import { limitsSchema } from '../../../src/server/config.js';
import {
  LocalSessionLedger,
  type OpenResult,
  type SessionClaim,
  type SessionLedger,
  type SessionLimits,
} from '../../../src/server/session-ledger.js';
import { SessionError, SessionManager, type ConsolePeer } from '../../../src/server/sessions.js';
import type { AgentHub } from '../../../src/server/agent-hub.js';
import type { DeviceRow, Store, User } from '../../../src/server/store.js';

const devices: DeviceRow[] = ['host1', 'host2', 'host3'].map((name, i) => ({
  id: `dev${i + 1}`,
  name,
  hostname: name,
  os: 'Linux',
  platform: 'linux',
  agentVersion: '0.1.0',
  publicKey: '',
  enrolledAt: '2026-01-01T00:00:00Z',
  lastSeen: null,
  isolated: false,
}));

// Only what SessionManager.open/close use.
const store = {
  findDevice: (ref: string) => devices.find((d) => d.id === ref || d.name === ref) ?? { error: `no device ${ref}` },
  recordSessionStart: () => undefined,
  recordSessionEnd: () => undefined,
} as unknown as Store;
const hub = { isOnline: () => true, sendTo: () => true } as unknown as AgentHub;

function user(name: string): User {
  return { id: `id-${name}`, name, role: 'advanced', libraryManager: false };
}

function peer(u: User): ConsolePeer {
  return {
    user: u,
    send: () => undefined,
    sendRaw: () => undefined,
    sendBinary: () => undefined,
    bufferedAmount: () => 0,
  };
}

/** A ledger whose decisions wait until released (a remote ledger's round trip). */
class SlowLedger implements SessionLedger {
  readonly inner = new LocalSessionLedger();
  private gate: Array<() => void> = [];
  tryOpen(claim: SessionClaim, limits: SessionLimits): Promise<OpenResult> {
    return new Promise<void>((r) => this.gate.push(r)).then(() => this.inner.tryOpen(claim, limits));
  }
  close(id: string): Promise<void> {
    return this.inner.close(id);
  }
  list(): Promise<SessionClaim[]> {
    return this.inner.list();
  }
  release(): void {
    for (const r of this.gate.splice(0)) r();
  }
}

const managers: SessionManager[] = [];
function manager(
  limits: Partial<{ maxSessionsPerUser: number; maxSessionsPerTenant: number }> = {},
  ledger?: SessionLedger,
): SessionManager {
  const l = limitsSchema.parse(limits);
  const m = new SessionManager(store, hub, () => l, ledger);
  managers.push(m);
  return m;
}
afterEach(() => {
  for (const m of managers.splice(0)) m.stop();
});

async function refusal(p: Promise<unknown>): Promise<SessionError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SessionError);
  return e as SessionError;
}

describe('SessionManager with a ledger', () => {
  it('two concurrent opens of one device on one node: exactly one wins, with the usual message', async () => {
    const m = manager();
    const alice = user('alice');
    const bob = user('bob');
    const results = await Promise.allSettled([m.open(alice, 'host1', peer(alice)), m.open(bob, 'host1', peer(bob))]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((lost.reason as SessionError).code).toBe('device_busy');
    expect((lost.reason as SessionError).message).toMatch(
      /^connect: host1 already has a live response session \(opened by alice at .+\); one session per device$/,
    );
    expect(m.all().length).toBe(1);
  });

  it('keeps the user and tenant limit messages', async () => {
    const m = manager({ maxSessionsPerUser: 1, maxSessionsPerTenant: 2 });
    const alice = user('alice');
    const bob = user('bob');
    const carol = user('carol');
    await m.open(alice, 'host1', peer(alice));
    const u = await refusal(m.open(alice, 'host2', peer(alice)));
    expect([u.code, u.message]).toEqual(['user_limit', 'connect: you already have 1 session open (limit 1 per user)']);
    await m.open(bob, 'host2', peer(bob));
    const t = await refusal(m.open(carol, 'host3', peer(carol)));
    expect([t.code, t.message]).toEqual(['tenant_limit', 'connect: the tenant already has 2 sessions open (limit 2)']);
  });

  it('frees the device in the ledger when a session closes', async () => {
    const ledger = new LocalSessionLedger();
    const m = manager({}, ledger);
    const alice = user('alice');
    const s = await m.open(alice, 'host1', peer(alice));
    expect((await ledger.list()).map((c) => c.sessionId)).toEqual([s.id]);
    m.close(s, 'test');
    expect(await ledger.list()).toEqual([]);
    // Immediately reusable: the local ledger frees it before close() returns.
    await m.open(alice, 'host1', peer(alice));
  });

  it('gives the claim back when the console goes while the ledger decides', async () => {
    const ledger = new SlowLedger();
    const m = manager({}, ledger);
    const alice = user('alice');
    const p = peer(alice);
    const pending = m.open(alice, 'host1', p); // the ledger is asked synchronously, then waits
    m.closeAllOf(p, 'console disconnected');
    ledger.release();
    const e = await refusal(pending);
    expect(e.code).toBe('unavailable');
    expect(m.all()).toEqual([]);
    expect(await ledger.list()).toEqual([]);
    // The same console (had it stayed) is not blocked for good: only the opens pending at that moment.
    const again = m.open(alice, 'host1', p);
    ledger.release();
    expect((await again).device.id).toBe('dev1');
  });
});
