/**
 * Rolling agent releases out (self-update, service side): an agent connected to this node whose hello says
 * an older version of its target, and that is in the release's group (or any device when the release has
 * none), is sent an update.offer right after its welcome; agents already online get it within seconds of
 * `lr-server agent-release add` (the command writes the database from another process: the table is polled
 * every 2 s). The offer carries the signed facts and a one-time download URL (GET /api/v1/agent/releases/
 * TOKEN: two minutes, one use, bound to the device, which signs the token with its device key as for
 * library files). Each update.status goes into the command log (hash-chained) and the service log.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { FromAgent, JobStatus } from '../shared/wire/protocol.js';
import { compareAgentVersions } from '../shared/wire/agent-release.js';
import { httpsBase } from '../node/profile.js';
import { newId } from '../node/ids.js';
import type { Logger } from '../node/log.js';
import type { AgentHub } from './agent-hub.js';
import { AgentFileTokens } from './agent-file-tokens.js';
import type { AgentRelease, AgentReleases } from './agent-releases.js';
import { chooseOffer } from './agent-releases-offer.js';
import type { GroupStore } from './groups.js';
import { provenDevice } from './library-routes.js';
import { RestError, sendJson } from './rest-io.js';
import type { Store } from './store.js';
import { describeError } from '../shared/errors.js';

const POLL_MS = 2_000;
/** The command log's user id for entries the service writes about agent updates (no analyst ran them). */
export const UPDATE_LOG_USER = 'agent-update';

type UpdateStatus = Extract<FromAgent, { t: 'update.status' }>;

const LOG_STATUS: Record<UpdateStatus['state'], JobStatus> = {
  refused: 'refused',
  failed: 'failed',
  rolled_back: 'failed',
  staged: 'completed',
  applied: 'completed',
};

export class AgentRollout {
  private readonly tokens = new AgentFileTokens();
  /** Offers made on the current link of a device (device id → "since:releaseId"): one per release per connection. */
  private readonly offered = new Map<string, Set<string>>();
  private stamp: string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly releases: AgentReleases,
    private readonly hub: AgentHub,
    private readonly store: Store,
    private readonly groups: GroupStore,
    private readonly publicUrl: string,
    private readonly log: Logger,
    /** Makes a release the file new devices install (agent-files.ts publishAgentFile). */
    private readonly publishForInstalls: (release: AgentRelease, file: string) => Promise<unknown>,
  ) {
    this.stamp = releases.stamp();
    hub.on('presence', (deviceId, online) => {
      if (online) this.offerTo(deviceId);
      else this.offered.delete(deviceId);
    });
    hub.on('update', (deviceId, report) => this.onReport(deviceId, report));
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private poll(): void {
    let now: string;
    try {
      now = this.releases.stamp();
    } catch (e) {
      this.log.warn('agent releases cannot be read', { error: describeError(e) });
      return;
    }
    if (now === this.stamp) return;
    this.stamp = now;
    this.log.info('agent releases changed', {
      releases: this.releases
        .list()
        .map((r) => ({ id: r.id, target: r.target, version: r.version, group: r.group ?? 'all', by: r.createdBy })),
    });
    for (const deviceId of this.hub.localDevices()) this.offerTo(deviceId);
  }

  /** Sends the device's agent (connected here) the release it should run, if there is one. */
  offerTo(deviceId: string): void {
    const info = this.hub.helloInfo(deviceId);
    const device = this.store.getDevice(deviceId);
    const since = this.hub.localSince(deviceId);
    if (!info || !device || since === null) return;
    const release = chooseOffer(
      {
        agentVersion: info.agentVersion,
        agentTarget: info.agentTarget,
        platform: info.platform,
        group: this.groups.groupOf(device).group.name,
        refused: this.releases.refusedBy(deviceId),
      },
      this.releases.list(),
    );
    if (!release) return;
    const key = `${since}:${release.id}`;
    const sent = this.offered.get(deviceId) ?? new Set<string>();
    if (sent.has(key)) return;
    this.offered.set(deviceId, new Set([...[...sent].filter((k) => k.startsWith(`${since}:`)), key]));
    const token = this.tokens.issue({ name: release.id, deviceId, sha256: release.sha256 });
    const url = `${httpsBase(this.publicUrl)}/api/v1/agent/releases/${token}`;
    this.hub.sendTo(deviceId, {
      t: 'update.offer',
      releaseId: release.id,
      target: release.target,
      version: release.version,
      sha256: release.sha256,
      size: release.size,
      sig: release.sig,
      url,
    });
    this.log.info('agent update offered', {
      deviceId,
      deviceName: device.name,
      from: info.agentVersion,
      to: release.version,
      releaseId: release.id,
    });
  }

  private onReport(deviceId: string, r: UpdateStatus): void {
    const release = this.releases.get(r.releaseId);
    // A report for a release that is not (or no longer) here is logged, not recorded against a release.
    if (release) this.releases.report(deviceId, r.releaseId, r.state, r.message);
    if (release && r.state === 'applied') this.publishIfProven(release);
    const fields = {
      deviceId,
      releaseId: r.releaseId,
      version: r.version,
      state: r.state,
      ...(r.message ? { message: r.message } : {}),
    };
    if (r.state === 'refused' || r.state === 'failed' || r.state === 'rolled_back')
      this.log.warn('agent update report', fields);
    else this.log.info('agent update report', fields);
    const id = newId();
    const message = r.message?.slice(0, 2000);
    const line = `agent-update ${r.version} ${r.state}${message ? `: ${message}` : ''}`;
    const status = LOG_STATUS[r.state];
    try {
      this.store.insertCommand({
        id,
        sessionId: null,
        userId: UPDATE_LOG_USER,
        deviceId,
        commandLine: line.slice(0, 4000),
        name: 'agent-update',
        status: status === 'refused' ? 'refused' : 'running',
        background: false,
        ...(message ? { error: message } : {}),
      });
      if (status !== 'refused')
        this.store.finishCommand(id, {
          status,
          ...(status === 'failed' && message ? { error: message } : {}),
          durationMs: 0,
          output: '',
          outputSize: 0,
          outputSha256: createHash('sha256').digest('hex'),
          truncated: false,
        });
    } catch (e) {
      this.log.error('agent update report not written to the command log', { ...fields, error: describeError(e) });
    }
  }

  /**
   * A release for every device becomes what new devices install (the installers' agent file) once a device
   * runs it and is connected (`applied`): never before, so a broken build rolled back everywhere is never
   * handed to new devices. Unless a newer release for every device exists: that one takes its place when proven.
   */
  private publishIfProven(release: AgentRelease): void {
    if (release.group !== null) return;
    if (
      this.releases
        .list()
        .some(
          (o) =>
            o.target === release.target && o.group === null && compareAgentVersions(o.version, release.version) > 0,
        )
    )
      return;
    this.publishForInstalls(release, this.releases.filePath(release)).then(
      () =>
        this.log.info('agent release proven on a device: new installs get it', {
          releaseId: release.id,
          target: release.target,
          version: release.version,
        }),
      (e: unknown) =>
        this.log.error('agent release not published for new installs', {
          releaseId: release.id,
          error: describeError(e),
        }),
    );
  }

  /**
   * GET /api/v1/agent/releases/:token — no user: the one-time token from the device's update.offer and the
   * device's signature of it (checked before the token is spent). Answers true when it handled the request.
   */
  async route(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const m = /^\/api\/v1\/agent\/releases\/([A-Za-z0-9_-]{1,64})$/.exec((req.url ?? '/').split('?', 1)[0] as string);
    if (!m || req.method !== 'GET') return false;
    try {
      await this.serve(req, res, m[1] as string);
    } catch (e) {
      if (res.headersSent) res.destroy();
      else
        sendJson(res, e instanceof RestError ? e.status : 500, {
          error: e instanceof RestError ? e.message : 'internal error (see the service log)',
        });
      if (!(e instanceof RestError)) this.log.error('agent release download failed', { error: describeError(e) });
    }
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
    const deviceId = provenDevice(req, this.store, token);
    if (!deviceId)
      throw new RestError(403, 'download refused: the request is not signed by an enrolled device (x-lr-device-proof)');
    const grant = await this.tokens.redeem(token);
    if (!grant) throw new RestError(404, 'unknown, used or expired download token');
    if (grant.deviceId !== deviceId) {
      this.log.warn('agent release token presented by another device', { deviceId, grantedTo: grant.deviceId });
      throw new RestError(403, 'this download token belongs to another device');
    }
    const release = this.releases.get(grant.name);
    if (!release || release.sha256 !== grant.sha256)
      throw new RestError(410, 'the release was removed or replaced after it was offered');
    const handle = await open(this.releases.filePath(release), 'r').catch(() => {
      throw new RestError(410, "the release file is missing on the service's disk");
    });
    const st = await handle.stat();
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(st.size),
      'cache-control': 'no-store',
      'x-lr-sha256': release.sha256,
    });
    pipeline(handle.createReadStream(), res).then(
      () => this.log.info('agent release sent', { deviceId, releaseId: release.id, version: release.version }),
      (e: Error) =>
        this.log.warn('agent release download interrupted', { deviceId, releaseId: release.id, error: e.message }),
    );
  }
}
