/**
 * Which service the workstation talks to, and as whom. Standalone (the default): the embedded service and
 * agent of ./standalone.ts, signed in with their admin profile. Remote ("Connect to a service"): a profile
 * file made by `lr-server user add`, validated with profileSchema and checked against the service
 * (GET /api/v1/me) before it replaces the current connection. The choice is kept in workstation.json.
 *
 * When the saved profile's service does not answer at start, the workspace stays on it in the
 * 'unreachable' state and retries in the background: the analyst keeps working on cases and evidence
 * offline, and the consoles come back when the service does. (A profile that cannot be read, or that the
 * service refuses, falls back to standalone as before.)
 *
 * A profile of a cluster lists several nodes: every client of the connection fails over through one
 * ServiceNodes, so a dead node costs no reconnection here; the status follows the node that answered last.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  failureKind,
  LibraryApi,
  type Me,
  ServiceApi,
  ServiceNodes,
  type UseOptions,
  WorkstationApi,
} from '../../client/index.js';
import { readJsonFile, writeSecretJson } from '../../node/files.js';
import { Logger } from '../../node/log.js';
import { profileSchema, type Profile } from '../../node/profile.js';
import type { WorkspaceMode, WorkspaceStatus } from '../../shared/workstation/ipc-contract.js';
import { appDataPaths, ensureAppData, type AppDataPaths } from './app-data.js';
import type { EventHub } from './events.js';
import { startStandalone, type Standalone } from './standalone.js';
import { describeError, describeErrorOneLine } from '../../shared/errors.js';

const settingsSchema = z.object({ profilePath: z.string().min(1).optional() });

/** How often an unreachable service is tried again. */
export const UNREACHABLE_RETRY_MS = 5_000;

/** The status line's error: one line, cut. */
const MAX_ERROR_CHARS = 300;

/** Everything a service call needs about the current connection. */
export interface Connection {
  readonly mode: WorkspaceMode;
  readonly profile: Profile;
  /** The profile's service nodes (one, or a cluster's): every client of this connection fails over through it. */
  readonly nodes: ServiceNodes;
  readonly me: Me;
  readonly api: ServiceApi;
  readonly rest: WorkstationApi;
  readonly library: LibraryApi;
  /** Bumped at every change: work started for an older connection can tell it is stale. */
  readonly generation: number;
}

export interface WorkspaceOptions {
  /** The app data folder; undefined: nothing starts (unit tests of the IPC layer). */
  dataDir?: string | undefined;
  events: EventHub;
  /** Agent configuration root for the embedded agent (tests); default '/'. */
  sysroot?: string | undefined;
  /** better-sqlite3 native module for the embedded service's database (see ../native-binding.ts). */
  sqliteNativeBinding?: string | undefined;
  log?: Logger;
}

export class Workspace {
  readonly paths: AppDataPaths | undefined;
  private standalone: Standalone | undefined;
  private standaloneStarting: Promise<Standalone> | undefined;
  private connection: Connection | undefined;
  private state: WorkspaceStatus;
  private generation = 0;
  private readonly changeListeners = new Set<(c: Connection | undefined) => void>();
  private readonly log: Logger;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkspaceOptions) {
    this.paths = options.dataDir ? appDataPaths(options.dataDir) : undefined;
    this.log = options.log ?? new Logger('lr-workstation');
    this.state = { state: 'starting', mode: 'standalone', dataDir: this.paths?.root ?? '' };
  }

  status(): WorkspaceStatus {
    return { ...this.state };
  }

  /** The current connection, or a one-line error saying why there is none. */
  current(): Connection {
    if (this.connection) return this.connection;
    if (this.state.state === 'failed')
      throw new Error(`not connected to a service: ${this.state.error ?? 'unknown error'}`);
    if (this.state.state === 'unreachable')
      throw new Error(`the service is unreachable (retrying): ${this.state.error ?? 'no answer'}`);
    throw new Error('not connected to a service yet (starting)');
  }

  /** Called with the new connection (or undefined) whenever it changes. */
  onChange(listener: (c: Connection | undefined) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Brings up the saved choice: a profile file if one was chosen, else standalone. Never throws. */
  async start(): Promise<void> {
    if (!this.paths) {
      this.setState({ state: 'failed', mode: 'standalone', error: 'no app data folder', dataDir: '' });
      return;
    }
    ensureAppData(this.paths);
    const settings = this.readSettings();
    if (settings.profilePath) {
      try {
        await this.connectProfile(settings.profilePath);
        return;
      } catch (e) {
        // A network failure means the profile itself was read and parsed: keep it and retry.
        if (isUnreachable(e as Error)) {
          this.becomeUnreachable(path.resolve(settings.profilePath), e as Error);
          return;
        }
        this.log.warn('saved profile unusable: back to standalone', { error: describeError(e) });
      }
    }
    await this.useStandalone().catch(() => undefined);
  }

  async useStandalone(): Promise<WorkspaceStatus> {
    const paths = this.requirePaths();
    this.stopRetrying();
    this.setState({ state: 'starting', mode: 'standalone', dataDir: paths.root });
    try {
      const standalone = await this.ensureStandalone(paths);
      const connection = await this.makeConnection('standalone', standalone.profile);
      this.writeSettings({});
      this.setConnection(connection, { localDeviceId: standalone.deviceId });
    } catch (e) {
      const error = describeErrorOneLine(e, MAX_ERROR_CHARS);
      this.log.error('standalone mode failed to start', { error });
      this.connection = undefined;
      this.setState({ state: 'failed', mode: 'standalone', error, dataDir: paths.root });
      this.notify();
      throw new Error(error, { cause: e });
    }
    return this.status();
  }

  /** "Connect to a service": validates the profile file and the service's answer before switching. */
  async connectProfile(profilePath: string): Promise<WorkspaceStatus> {
    const paths = this.requirePaths();
    const file = path.resolve(profilePath);
    if (!existsSync(file)) throw new Error(`no profile file ${file}`);
    const profile = readJsonFile(file, profileSchema, 'profile');
    const connection = await this.makeConnection('remote', profile);
    this.stopRetrying();
    this.writeSettings({ profilePath: file });
    this.setConnection(connection, { profilePath: file, dataDir: paths.root });
    return this.status();
  }

  async stop(): Promise<void> {
    this.stopRetrying();
    this.generation += 1;
    this.connection?.rest.close();
    this.connection = undefined;
    this.notify();
    const standalone = this.standalone ?? (await this.standaloneStarting?.catch(() => undefined));
    this.standalone = undefined;
    await standalone?.stop();
  }

  /** Remote mode without a connection: say so, and try again every few seconds. */
  private becomeUnreachable(profilePath: string, error: Error): void {
    const paths = this.requirePaths();
    this.log.warn('the saved service is unreachable: retrying in the background', { error: error.message });
    this.connection = undefined;
    this.setState({
      state: 'unreachable',
      mode: 'remote',
      error: describeErrorOneLine(error, MAX_ERROR_CHARS),
      profilePath,
      dataDir: paths.root,
    });
    this.notify();
    this.stopRetrying();
    const retry = (): void => {
      this.retryTimer = setTimeout(() => {
        if (this.state.state !== 'unreachable') return;
        this.connectProfile(profilePath).catch((e: Error) => {
          if (this.state.state !== 'unreachable') return;
          const message = describeErrorOneLine(e, MAX_ERROR_CHARS);
          if (message !== this.state.error) this.setState({ ...this.state, error: message });
          retry();
        });
      }, UNREACHABLE_RETRY_MS);
      this.retryTimer.unref();
    };
    retry();
  }

  private stopRetrying(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async ensureStandalone(paths: AppDataPaths): Promise<Standalone> {
    if (this.standalone) return this.standalone;
    this.standaloneStarting ??= startStandalone({
      paths,
      sysroot: this.options.sysroot,
      sqliteNativeBinding: this.options.sqliteNativeBinding,
      log: this.log,
    });
    try {
      this.standalone = await this.standaloneStarting;
      return this.standalone;
    } finally {
      this.standaloneStarting = undefined;
    }
  }

  private async makeConnection(mode: WorkspaceMode, profile: Profile): Promise<Connection> {
    const nodes: ServiceNodes = new WatchedNodes(profile, (url) => this.movedTo(nodes, url));
    const rest = new WorkstationApi(profile, nodes);
    const me = await rest.me();
    return {
      mode,
      profile,
      nodes,
      me,
      api: new ServiceApi(profile, nodes),
      rest,
      library: new LibraryApi(profile, nodes),
      generation: this.generation + 1,
    };
  }

  private setConnection(connection: Connection, extra: Partial<WorkspaceStatus>): void {
    this.connection?.rest.close();
    this.generation = connection.generation;
    this.connection = connection;
    this.setState({
      state: 'ready',
      mode: connection.mode,
      serviceUrl: connection.nodes.current(),
      user: { name: connection.me.name, role: connection.me.role, libraryManager: connection.me.libraryManager },
      dataDir: this.paths?.root ?? '',
      ...extra,
    });
    this.notify();
  }

  /** A call of the current connection was answered by another node than the status shows (its node died). */
  private movedTo(nodes: ServiceNodes, url: string): void {
    if (this.connection?.nodes !== nodes || this.state.state !== 'ready' || this.state.serviceUrl === url) return;
    this.log.warn('the service node stopped answering: now using another node of the cluster', {
      from: this.state.serviceUrl,
      to: url,
    });
    this.setState({ ...this.state, serviceUrl: url });
  }

  private notify(): void {
    for (const listener of [...this.changeListeners]) {
      try {
        listener(this.connection);
      } catch (e) {
        this.log.warn('workspace listener failed', { error: describeError(e) });
      }
    }
  }

  private setState(state: WorkspaceStatus): void {
    this.state = state;
    this.options.events.publish({ type: 'workspace.changed', status: this.status() });
  }

  private requirePaths(): AppDataPaths {
    if (!this.paths) throw new Error('no app data folder');
    return this.paths;
  }

  private readSettings(): z.infer<typeof settingsSchema> {
    const paths = this.requirePaths();
    if (!existsSync(paths.settings)) return {};
    try {
      return readJsonFile(paths.settings, settingsSchema, 'workstation settings');
    } catch {
      return {};
    }
  }

  private writeSettings(settings: z.infer<typeof settingsSchema>): void {
    writeSecretJson(this.requirePaths().settings, settings);
  }
}

/**
 * ServiceNodes that report the node which answered a call when it is not the one that answered before
 * (with a single node, never). A call that no node answered reports nothing: the status keeps the last
 * node that did.
 */
class WatchedNodes extends ServiceNodes {
  private answered: string;

  constructor(
    profile: Profile,
    private readonly onMove: (url: string) => void,
  ) {
    super(profile);
    this.answered = this.current();
  }

  override async use<T>(attempt: (url: string) => Promise<T>, opts?: UseOptions): Promise<T> {
    try {
      const value = await super.use(attempt, opts);
      this.seen();
      return value;
    } catch (e) {
      if (failureKind(e) === 'answered') this.seen();
      throw e;
    }
  }

  /** After an answer, current() is the node that gave it (ServiceNodes prefers the node that answered last). */
  private seen(): void {
    const url = this.current();
    if (url === this.answered) return;
    this.answered = url;
    this.onMove(url);
  }
}

/** A network failure (the service may come back), as opposed to a refusal or a broken profile. */
function isUnreachable(e: Error): boolean {
  return /cannot reach the service|no answer from|socket hang up|ECONNRESET|EHOSTUNREACH|ENETUNREACH/.test(e.message);
}
