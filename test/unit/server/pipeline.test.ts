/**
 * The command pipeline (src/server/pipeline.ts) on a real Store (SQLite in a temporary folder) and a real
 * SessionManager: a line goes through parse → role check → command log → dispatch; refusals are logged and
 * never dispatched; cancel and the time limit ask the agent first, then end the job here if it never
 * confirms (fake timers: the grace period is 10 s). The agent side is FakeAgentHub, named as such: it
 * records what the pipeline dispatches and sends, and lets the test play the agent's output.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentHub, JobSink } from '../../../src/server/agent-hub.js';
import { limitsSchema } from '../../../src/server/config.js';
import { openDb, type Db } from '../../../src/server/db.js';
import { Pipeline } from '../../../src/server/pipeline.js';
import { SessionManager, type ConsolePeer, type Session } from '../../../src/server/sessions.js';
import { Store, type User } from '../../../src/server/store.js';
import type { ToAgent, ToClient } from '../../../src/shared/wire/protocol.js';

type JobStart = Extract<ToAgent, { t: 'job.start' }>;

/** Stands in for the agent links: the device is online, dispatches are kept for the test to answer. */
class FakeAgentHub {
  readonly dispatched: { deviceId: string; frame: JobStart; sink: JobSink }[] = [];
  readonly sent: ToAgent[] = [];
  readonly forgotten: string[] = [];
  online = true;
  isOnline(): boolean {
    return this.online;
  }
  dispatch(deviceId: string, frame: JobStart, sink: JobSink): boolean {
    if (!this.online) return false;
    this.dispatched.push({ deviceId, frame, sink });
    return true;
  }
  sendTo(_deviceId: string, frame: ToAgent): boolean {
    this.sent.push(frame);
    return true;
  }
  forget(jobId: string): void {
    this.forgotten.push(jobId);
  }
}

/** A console that keeps every frame it is sent, parsed. */
function recordingPeer(user: User): ConsolePeer & { frames: ToClient[] } {
  const frames: ToClient[] = [];
  return {
    user,
    frames,
    send: (f) => void frames.push(f),
    sendRaw: (raw) => void frames.push(JSON.parse(raw) as ToClient),
    sendBinary: () => undefined,
    bufferedAmount: () => 0,
  };
}

let dir: string;
let db: Db;
let store: Store;
let hub: FakeAgentHub;
let sessions: SessionManager;
let pipeline: Pipeline;
let deviceId: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lr-pipeline-'));
  db = openDb(join(dir, 'lr.db'));
  store = new Store(db);
  hub = new FakeAgentHub();
  const limits = limitsSchema.parse({ commandTimeoutSec: 5 });
  sessions = new SessionManager(store, hub as unknown as AgentHub, () => limits);
  pipeline = new Pipeline(
    store,
    hub as unknown as AgentHub,
    sessions,
    () => limits,
    (frame) => frame,
  ); // unsigned: the signer has its own tests
  const { token } = store.createEnrollToken(60_000);
  const enrolled = store.enrollDevice(
    token,
    { name: 'host1', hostname: 'host1', os: 'Linux', platform: 'linux', agentVersion: '0.1.0' },
    'key',
  );
  if (!enrolled.ok) throw new Error(enrolled.error);
  deviceId = enrolled.deviceId;
});

afterEach(() => {
  vi.useRealTimers();
  sessions.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(role: User['role']): Promise<{ session: Session; peer: ReturnType<typeof recordingPeer> }> {
  const user = store.createUser(`analyst-${role}`, role, false);
  const peer = recordingPeer(user);
  return { session: await sessions.open(user, 'host1', peer), peer };
}

describe('Pipeline', () => {
  it('a command is parsed, checked, logged running, dispatched; its output and end reach the console and the log', async () => {
    const { session, peer } = await open('basic');
    const r = pipeline.submit(peer, session, 'dir /tmp -full_path', 7);
    expect(r.status).toBe('running');
    expect(store.getCommand(r.commandId)).toMatchObject({
      status: 'running',
      commandLine: 'dir /tmp -full_path',
      deviceId,
    });
    expect(hub.dispatched).toHaveLength(1);
    const { frame, sink } = hub.dispatched[0] as (typeof hub.dispatched)[number];
    expect(frame).toMatchObject({
      t: 'job.start',
      jobId: r.commandId,
      sessionId: session.id,
      command: 'dir',
      params: { path: '/tmp', full_path: true },
      timeLimitMs: 5_000,
    });
    expect(peer.frames[0]).toMatchObject({ t: 'command.started', reqId: 7, commandId: r.commandId, name: 'dir' });

    sink.onText('a.txt\n', 6);
    sink.onEnd('completed', undefined, '/tmp');
    expect(peer.frames.map((f) => f.t)).toEqual(['command.started', 'command.text', 'command.end']);
    expect(peer.frames[2]).toMatchObject({ status: 'completed', cwd: '/tmp' });
    expect(hub.sent).toContainEqual({ t: 'job.ack', jobId: r.commandId, bytes: 6 });
    expect(store.getCommand(r.commandId)).toMatchObject({ status: 'completed', output: 'a.txt\n' });
    expect(session.cwd).toBe('/tmp');
  });

  it('refuses a line it cannot parse, an unknown command and a role too low: logged refused, never dispatched', async () => {
    const { session, peer } = await open('basic');
    const bad = pipeline.submit(peer, session, 'dir "unclosed');
    const unknown = pipeline.submit(peer, session, 'frobnicate');
    const role = pipeline.submit(peer, session, 'remediate file /tmp/x');
    for (const r of [bad, unknown, role]) {
      expect(r.status).toBe('refused');
      expect(store.getCommand(r.commandId)?.status).toBe('refused');
    }
    expect(store.getCommand(unknown.commandId)?.error).toBe('frobnicate: unknown command (type help for the list)');
    expect(store.getCommand(role.commandId)?.error).toBe('remediate: refused: needs the advanced role (you are basic)');
    expect(hub.dispatched).toHaveLength(0);
    expect(peer.frames.filter((f) => f.t === 'command.end').map((f) => (f as { status: string }).status)).toEqual([
      'refused',
      'refused',
      'refused',
    ]);
  });

  it('a device gone offline at dispatch fails the command at once', async () => {
    const { session, peer } = await open('basic');
    hub.online = false;
    const r = pipeline.submit(peer, session, 'processes');
    expect(r.status).toBe('failed');
    expect(store.getCommand(r.commandId)).toMatchObject({ status: 'failed', error: 'processes: host1 is offline' });
  });

  it('cancel asks the agent; the agent confirming ends the job cancelled', async () => {
    const { session, peer } = await open('basic');
    const r = pipeline.submit(peer, session, 'processes');
    pipeline.cancel(peer, r.commandId);
    expect(hub.sent).toContainEqual({ t: 'job.cancel', jobId: r.commandId, reason: 'cancelled' });
    (hub.dispatched[0] as (typeof hub.dispatched)[number]).sink.onEnd('cancelled', undefined, undefined);
    expect(store.getCommand(r.commandId)?.status).toBe('cancelled');
  });

  it('cancel of a job the agent never confirms ends it here after the grace period', async () => {
    vi.useFakeTimers();
    const { session, peer } = await open('basic');
    const r = pipeline.submit(peer, session, 'processes');
    pipeline.cancel(peer, r.commandId);
    vi.advanceTimersByTime(9_999);
    expect(store.getCommand(r.commandId)?.status).toBe('running');
    vi.advanceTimersByTime(1);
    expect(store.getCommand(r.commandId)).toMatchObject({
      status: 'cancelled',
      error: 'processes: cancelled (the agent did not confirm)',
    });
    expect(hub.forgotten).toEqual([r.commandId]);
  });

  it("another user's cancel is refused as not found", async () => {
    const { session, peer } = await open('basic');
    const r = pipeline.submit(peer, session, 'processes');
    const other = recordingPeer(store.createUser('other', 'admin', false));
    pipeline.cancel(other, r.commandId);
    expect(other.frames).toEqual([
      { t: 'error', code: 'not_found', message: `cancel: no running command ${r.commandId} in your sessions` },
    ]);
    expect(hub.sent.filter((f) => f.t === 'job.cancel')).toHaveLength(0);
  });

  it('the time limit cancels on the agent, then ends the job timed_out when the agent stays silent', async () => {
    vi.useFakeTimers();
    const { session, peer } = await open('basic');
    const r = pipeline.submit(peer, session, 'processes');
    vi.advanceTimersByTime(4_999);
    expect(hub.sent.filter((f) => f.t === 'job.cancel')).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(hub.sent).toContainEqual({ t: 'job.cancel', jobId: r.commandId, reason: 'timed_out' });
    vi.advanceTimersByTime(9_999);
    expect(store.getCommand(r.commandId)?.status).toBe('running');
    vi.advanceTimersByTime(1);
    expect(store.getCommand(r.commandId)).toMatchObject({
      status: 'timed_out',
      error: 'processes: timed out after 5 s (the agent did not confirm the cancel)',
    });
    expect(peer.frames.at(-1)).toMatchObject({ t: 'command.end', commandId: r.commandId, status: 'timed_out' });
  });
});
