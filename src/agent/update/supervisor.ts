/**
 * `lr-agent service`: the supervisor of self-update, on Linux (what the systemd unit runs) and on Windows
 * (inside the service the SCM runs, windows-install.ts). It is the installed file and stays small and fixed on purpose:
 * it never runs agent code itself and never changes, so a
 * bad build cannot take away the means to roll it back. It runs the current build as a child
 * (`<build> start --data DIR`): the staged build that builds/current.json names, verified again (size,
 * SHA-256, the service's signature) before every start, so a file changed on disk is never run; else itself.
 *
 * An update: the child stages the new build and exits with UPDATE_EXIT_CODE; the supervisor starts the new
 * build on trial. It must say "connected" (IPC message, sent once the service welcomed it) within the trial
 * time (60 s). If it exits first, or the time runs out, the supervisor kills it, goes back to the previous
 * build and leaves a `rolled_back` report that the previous build sends once it is online. On success the
 * `applied` report is sent by the new build. The trial is recorded in builds/pending.json before the new
 * build starts: a supervisor that dies during a trial rolls back at its next start.
 *
 * Stopping a child: SIGTERM on Linux; on Windows, which has no signals, the IPC message `stop` (the build
 * closes its link and exits). Either way it is killed if it has not ended after a grace period.
 *
 * A child that exits otherwise (a crash) is started again after a back-off (1 s doubling to 60 s, reset once
 * a child has run for a minute), as systemd's Restart= would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_VERSION_PATTERN } from '../../shared/wire/agent-release.js';
import type { Logger } from '../../node/log.js';
import { loadAgentState } from '../config.js';
import {
  addRolledBack,
  addToOutbox,
  buildPath,
  buildsDir,
  readCurrent,
  readPending,
  SUPERVISED_ENV,
  UPDATE_EXIT_CODE,
  writeCurrent,
  writePending,
  type PendingUpdate,
  type ReleaseRecord,
} from './layout.js';
import { buildProblem, ownTarget } from './verify-build.js';
import type { SupervisorMessage } from './updater.js';
import { describeError } from '../../shared/errors.js';

export const TRIAL_MS = 60_000;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;
/** A child that ran this long was not crash-looping: the back-off starts again from its minimum. */
const HEALTHY_RUN_MS = 60_000;
const KILL_GRACE_MS = 5_000;

export interface SupervisorOptions {
  dataDir: string;
  log: Logger;
  /** How to run the installed file itself: [command, ...args before `start`]. */
  self: [string, ...string[]];
  /** Trial time of a new build (tests shorten it). */
  trialMs?: number;
  /** Resolves when the supervisor should stop (SIGTERM, the SCM's stop). */
  stopSignal: AbortSignal;
  /**
   * Where the child's output goes, a chunk at a time (a Windows service has no console); default: the supervisor's own
   * stdout/stderr.
   */
  childOutput?: (chunk: string) => void;
}

interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  connected: boolean;
  timedOut: boolean;
}

export async function runSupervisor(o: SupervisorOptions): Promise<number> {
  const { dataDir, log } = o;
  const trialMs = o.trialMs ?? TRIAL_MS;
  loadAgentState(dataDir); // not enrolled (or unreadable): one line now, not a crash loop of children
  removeIncoming(dataDir);
  let backoff = BACKOFF_MIN_MS;
  while (!o.stopSignal.aborted) {
    const trial = await prepareTrial(o);
    const exe = await chooseBuild(o);
    const startedAt = Date.now();
    log.info('starting the agent build', { build: exe.label, trial: trial ? trial.next.version : undefined });
    const end = await runChild(o, exe.argv, trial ? trialMs : null, () => {
      if (trial) commit(o, trial);
    });
    if (o.stopSignal.aborted) {
      log.info('the agent stopped with the service', { build: exe.label, exit: describe(end) });
      return 0;
    }
    if (trial && !end.connected) {
      rollBack(
        o,
        trial,
        end.timedOut
          ? `the new build did not connect within ${Math.round(trialMs / 1000)} s`
          : `the new build exited (${describe(end)}) before it connected`,
      );
      continue; // the previous build at once
    }
    if (end.code === UPDATE_EXIT_CODE && readPending(dataDir)?.phase === 'staged') {
      log.info('the agent staged an update: starting it on trial');
      continue;
    }
    if (Date.now() - startedAt >= HEALTHY_RUN_MS) backoff = BACKOFF_MIN_MS;
    log.warn('the agent exited: restarting it', { build: exe.label, exit: describe(end), inMs: backoff });
    await sleep(backoff, o.stopSignal);
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  }
  return 0;
}

/**
 * A pending update: `staged` (the build exited to have it started) goes on trial once it verifies; `trying`
 * means this supervisor died during a trial, which therefore did not succeed: rolled back.
 */
async function prepareTrial(o: SupervisorOptions): Promise<PendingUpdate | null> {
  const pending = readPending(o.dataDir);
  if (!pending) return null;
  if (pending.phase === 'trying') {
    rollBack(o, pending, 'the supervisor restarted while the new build was on trial');
    return null;
  }
  const problem = await checkBuild(o, pending.next);
  if (problem) {
    rollBack(o, pending, `the staged build failed its check before its start: ${problem}`);
    return null;
  }
  const trial: PendingUpdate = { ...pending, phase: 'trying' };
  writePending(o.dataDir, trial); // first: a crash from here on rolls back
  writeCurrent(o.dataDir, pending.next);
  return trial;
}

async function checkBuild(o: SupervisorOptions, r: ReleaseRecord): Promise<string | null> {
  const target = ownTarget();
  if (!target) return `no agent build exists for ${process.platform}-${process.arch}`;
  let key: string | undefined;
  try {
    key = loadAgentState(o.dataDir).commandKey;
  } catch (e) {
    return `the agent's state cannot be read: ${describeError(e)}`;
  }
  return buildProblem(buildPath(o.dataDir, r.version), r, r.sig, key, target);
}

/** The build current.json names, if it still verifies; else the installed file (and the service is told). */
async function chooseBuild(o: SupervisorOptions): Promise<{ argv: string[]; label: string }> {
  const self = { argv: [...o.self], label: 'installed' };
  const current = readCurrent(o.dataDir);
  if (!current) return self;
  const problem = await checkBuild(o, current);
  if (!problem) return { argv: [buildPath(o.dataDir, current.version)], label: current.version };
  o.log.error('refusing to run the current build: running the installed file', { version: current.version, problem });
  writeCurrent(o.dataDir, null);
  if (readPending(o.dataDir)) writePending(o.dataDir, null);
  addToOutbox(o.dataDir, {
    releaseId: current.releaseId,
    version: current.version,
    state: 'failed',
    message: `the build on disk failed its check before its start (${problem}): running the installed build`,
  });
  return self;
}

/** The new build is connected: it becomes the build, the one before it is kept for one more rollback. */
function commit(o: SupervisorOptions, trial: PendingUpdate): void {
  writePending(o.dataDir, null);
  addToOutbox(o.dataDir, { releaseId: trial.next.releaseId, version: trial.next.version, state: 'applied' });
  prune(o, [trial.next.version, trial.previous?.version]);
  o.log.info('update applied', { version: trial.next.version });
}

function rollBack(o: SupervisorOptions, trial: PendingUpdate, reason: string): void {
  addRolledBack(o.dataDir, trial.next.releaseId);
  writeCurrent(o.dataDir, trial.previous);
  writePending(o.dataDir, null);
  addToOutbox(o.dataDir, {
    releaseId: trial.next.releaseId,
    version: trial.next.version,
    state: 'rolled_back',
    message: reason,
  });
  if (trial.next.version !== trial.previous?.version)
    rmSync(join(buildsDir(o.dataDir), trial.next.version), { recursive: true, force: true });
  o.log.warn('update rolled back', { version: trial.next.version, to: trial.previous?.version ?? 'installed', reason });
}

/** Downloads a build was receiving when it died (a crash, a power cut) are deleted. */
function removeIncoming(dataDir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(buildsDir(dataDir));
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith('.incoming-')) rmSync(join(buildsDir(dataDir), name), { force: true });
}

/** Deletes the build folders other than `keep`. */
function prune(o: SupervisorOptions, keep: (string | undefined)[]): void {
  let names: string[];
  try {
    names = readdirSync(buildsDir(o.dataDir));
  } catch {
    return;
  }
  for (const name of names) {
    if (AGENT_VERSION_PATTERN.test(name) && !keep.includes(name))
      rmSync(join(buildsDir(o.dataDir), name), { recursive: true, force: true });
  }
}

/**
 * Runs one child until it exits. With a trial time, the child must report "connected" within it or is
 * killed; `onConnected` runs at its first report (the trial's success), and the child is then asked to send
 * the outbox (which now holds `applied`).
 */
function runChild(
  o: SupervisorOptions,
  argv: string[],
  trialMs: number | null,
  onConnected: () => void,
): Promise<ChildEnd> {
  return new Promise((resolve) => {
    const [command, ...args] = argv as [string, ...string[]];
    let child: ChildProcess;
    const end: ChildEnd = { code: null, signal: null, connected: false, timedOut: false };
    try {
      const out = o.childOutput ? 'pipe' : 'inherit';
      child = spawn(command, [...args, 'start', '--data', o.dataDir], {
        stdio: ['ignore', out, out, 'ipc'],
        env: { ...process.env, [SUPERVISED_ENV]: '1' },
        windowsHide: true,
      });
      if (o.childOutput) {
        child.stdout?.setEncoding('utf8').on('data', o.childOutput);
        child.stderr?.setEncoding('utf8').on('data', o.childOutput);
      }
    } catch (e) {
      o.log.error('cannot start the agent build', { command, error: describeError(e) });
      resolve(end);
      return;
    }
    const kill = () => {
      askToStop(child);
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer =
      trialMs === null
        ? undefined
        : setTimeout(() => {
            if (end.connected) return;
            end.timedOut = true;
            o.log.warn('the new build did not connect in time: stopping it', { trialMs });
            kill();
          }, trialMs);
    child.on('message', (m: SupervisorMessage) => {
      if (m?.t !== 'connected' || end.connected || end.timedOut) return;
      end.connected = true;
      clearTimeout(timer);
      onConnected();
      if (child.connected) child.send({ t: 'flush' } satisfies SupervisorMessage);
    });
    const onStop = () => kill();
    o.stopSignal.addEventListener('abort', onStop, { once: true });
    child.on('error', (e) => {
      o.log.error('agent build failed to start', { command, error: e.message });
      if (child.pid === undefined) resolve(end); // never started: no exit event follows
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      o.stopSignal.removeEventListener('abort', onStop);
      end.code = code;
      end.signal = signal;
      resolve(end);
    });
  });
}

/**
 * SIGTERM where there are signals; on Windows (where kill() is TerminateProcess) the IPC `stop` first, so the build
 * closes its link cleanly.
 */
export function askToStop(
  child: Pick<ChildProcess, 'connected' | 'send' | 'kill'>,
  platform: NodeJS.Platform = process.platform,
): void {
  if (platform !== 'win32') child.kill('SIGTERM');
  else if (child.connected) child.send({ t: 'stop' } satisfies SupervisorMessage);
  else child.kill();
}

function describe(end: ChildEnd): string {
  return end.signal ? `signal ${end.signal}` : `code ${end.code}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
