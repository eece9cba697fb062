/**
 * The running build's side of self-update: takes an update.offer, refuses what it must (another target, not
 * newer, a bad signature; after the download: another size or SHA-256) with update.status `refused` and a
 * one-line reason, having run nothing, and otherwise stages the build into builds/<version>/lr-agent (0700)
 * and exits with UPDATE_EXIT_CODE so that its supervisor (supervisor.ts) starts it on trial. It also sends
 * the reports the supervisor left in the outbox (rolled_back, applied) once the link is up, and tells the
 * supervisor over the IPC channel when it is connected (the trial's success signal).
 *
 * Only a build run by the supervisor (`lr-agent service`) updates: `lr-agent start` under some other
 * supervisor answers `failed` and downloads nothing, since nothing would start the new build or roll it back.
 */
import { chmodSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { compareAgentVersions } from '../../shared/wire/agent-release.js';
import type { FromAgent, ToAgent } from '../../shared/wire/protocol.js';
import type { Logger } from '../../node/log.js';
import type { ServiceEndpoint } from '../command.js';
import { downloadFromService, downloadTargets } from '../service-download.js';
import { AGENT_VERSION } from '../version.js';
import {
  buildPath,
  buildsDir,
  clearOutbox,
  readCurrent,
  readOutbox,
  readRolledBack,
  writePending,
  type ReleaseRecord,
} from './layout.js';
import { buildProblem, ownTarget, releaseSignatureProblem } from './verify-build.js';
import { describeError } from '../../shared/errors.js';

type Offer = Extract<ToAgent, { t: 'update.offer' }>;
type Send = (f: FromAgent) => void;

/** What the IPC channel between a build and its supervisor carries. */
/**
 * Over the IPC channel: the build says `connected`; the supervisor asks it to `flush` its outbox, or to `stop` (Windows
 * has no SIGTERM).
 */
export type SupervisorMessage = { t: 'connected'; version: string } | { t: 'flush' } | { t: 'stop' };

export interface UpdaterOptions {
  dataDir: string;
  /** The service key pinned at enrollment (the one that signs commands signs releases too). */
  serviceKey: string | undefined;
  service: ServiceEndpoint;
  log: Logger;
  /** Run by `lr-agent service` (it set SUPERVISED_ENV): only then is an update staged. */
  supervised: boolean;
  /** Stops the link and exits with UPDATE_EXIT_CODE. */
  restartIntoUpdate: () => void;
  /** This build's version (tests pass another). */
  version?: string;
}

export class AgentUpdater {
  private busy = false;
  private send: Send | null = null;
  private readonly version: string;

  constructor(private readonly o: UpdaterOptions) {
    this.version = o.version ?? AGENT_VERSION;
  }

  /** The link is up (welcome): the supervisor learns it, the outbox goes to the service. */
  online(send: Send): void {
    this.send = send;
    if (this.o.supervised && typeof process.send === 'function')
      process.send({ t: 'connected', version: this.version } satisfies SupervisorMessage);
    this.flush();
  }

  offline(): void {
    this.send = null;
  }

  /** Sends the supervisor's reports (once online), then forgets them. */
  flush(): void {
    const send = this.send;
    if (!send) return;
    const reports = readOutbox(this.o.dataDir);
    if (reports.length === 0) return;
    for (const r of reports) {
      this.o.log.info('update report sent to the service', { ...r });
      send({
        t: 'update.status',
        releaseId: r.releaseId,
        version: r.version,
        state: r.state,
        ...(r.message ? { message: r.message } : {}),
      });
    }
    clearOutbox(this.o.dataDir);
  }

  /** Why this offer is refused before any byte is downloaded, or null. Pure apart from the key check. */
  offerProblem(f: Offer): string | null {
    const target = ownTarget();
    if (f.target !== target)
      return `the build is for ${f.target}, this device runs ${target ?? `${process.platform}-${process.arch}`}`;
    if (readRolledBack(this.o.dataDir).includes(f.releaseId))
      return `release ${f.releaseId} (${f.version}) was rolled back on this device before`;
    if (compareAgentVersions(f.version, this.version) <= 0)
      return `version ${f.version} is not newer than the running ${this.version} (downgrades are refused)`;
    const sig = releaseSignatureProblem(f, f.sig, this.o.serviceKey);
    if (sig) return sig;
    try {
      downloadTargets(f.url, this.o.service, 'update');
    } catch (e) {
      return describeError(e);
    }
    return null;
  }

  handle(f: Offer, send: Send): void {
    if (this.busy) return; // one update at a time; the service offers again at the next connection
    this.busy = true;
    this.apply(f, send)
      .catch((e: Error) => this.report(send, f, 'failed', e.message))
      .finally(() => (this.busy = false));
  }

  private report(send: Send, f: Offer, state: 'refused' | 'failed' | 'staged', message?: string): void {
    (state === 'staged' ? this.o.log.info : this.o.log.warn).call(this.o.log, `update ${state}`, {
      releaseId: f.releaseId,
      version: f.version,
      ...(message ? { message } : {}),
    });
    send({
      t: 'update.status',
      releaseId: f.releaseId,
      version: f.version,
      state,
      ...(message ? { message: message.slice(0, 4096) } : {}),
    });
  }

  private async apply(f: Offer, send: Send): Promise<void> {
    const problem = this.offerProblem(f);
    if (problem) return this.report(send, f, 'refused', problem);
    if (!this.o.supervised)
      return this.report(
        send,
        f,
        'failed',
        'this agent was started with lr-agent start, which does not update itself: run it as lr-agent service',
      );
    const target = ownTarget();
    if (!target) return this.report(send, f, 'refused', 'no agent build exists for this platform');
    const dir = buildsDir(this.o.dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const incoming = join(dir, `.incoming-${randomBytes(6).toString('hex')}`);
    try {
      const got = await downloadFromService(f.url, incoming, {
        service: this.o.service,
        size: f.size,
        signal: AbortSignal.timeout(10 * 60_000),
        command: 'update',
        what: `agent ${f.version}`,
      });
      // The size was capped while it streamed; the hash and the signature are checked on the file as it lies.
      if (got.sha256 !== f.sha256)
        return this.report(
          send,
          f,
          'refused',
          `the downloaded build's SHA-256 ${got.sha256} is not the signed ${f.sha256}: nothing was run`,
        );
      const release: ReleaseRecord = {
        releaseId: f.releaseId,
        target: f.target,
        version: f.version,
        sha256: f.sha256,
        size: f.size,
        sig: f.sig,
      };
      const again = await buildProblem(incoming, release, f.sig, this.o.serviceKey, target);
      if (again) return this.report(send, f, 'refused', `${again}: nothing was run`);
      const dest = buildPath(this.o.dataDir, f.version);
      rmSync(dirname(dest), { recursive: true, force: true });
      mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
      chmodSync(incoming, 0o700);
      renameSync(incoming, dest);
      writePending(this.o.dataDir, { next: release, previous: readCurrent(this.o.dataDir), phase: 'staged' });
    } finally {
      rmSync(incoming, { force: true });
    }
    this.report(send, f, 'staged', `restarting into ${f.version}`);
    // The staged report leaves before the link closes (ws sends in order, stop() closes gracefully).
    this.o.restartIntoUpdate();
  }

  /** For the supervisor's flush request: the same as at connect. */
  onSupervisorMessage(m: unknown): void {
    if ((m as SupervisorMessage | null)?.t === 'flush') this.flush();
  }
}
