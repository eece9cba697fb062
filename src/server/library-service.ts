/**
 * The library as the rest of the service sees it: the repository, the tenant's unsigned-scripts setting,
 * one-time download tokens for agents, who may manage it, and the preparers of `putfile` and `run`
 * (they refuse what the library cannot serve and add what the agent needs to fetch and check the file).
 */
import { roleAllows } from '../shared/commands/catalog.js';
import type { BoundParams } from '../shared/commands/grammar-types.js';
import type { LibraryRecord } from '../shared/wire/library-records.js';
import {
  batchParametersProblem,
  FORBIDDEN_PARAMETERS_MESSAGE,
  hasForbiddenParameterChars,
  libraryRunner,
} from '../shared/commands/library-rules.js';
import { httpsBase } from '../node/profile.js';
import type { Logger } from '../node/log.js';
import type { Limits } from './config.js';
import type { Db } from './db.js';
import type { TenantSettings } from './tenant-settings.js';
import type { Pipeline } from './pipeline.js';
import type { Store, User } from './store.js';
import { AgentFileTokens, type FileTokens } from './agent-file-tokens.js';
import { LibraryStore, type LibraryContentSync, type LibraryFile } from './library-store.js';

const UNSIGNED_SCRIPTS_SETTING = 'unsignedScripts';

/**
 * How the library is shared in cluster mode: on a single node, its own download tokens and no shared content;
 * in a cluster (cluster/cluster-node.ts), content in the object store (published on upload, fetched before
 * it is served) and download tokens valid on every node.
 */
export interface LibrarySharing {
  content: LibraryContentSync | null;
  tokens: FileTokens;
}

export function singleNodeLibrary(): LibrarySharing {
  return { content: null, tokens: new AgentFileTokens() };
}

export class LibraryService {
  readonly files: LibraryStore;
  /** One-time download tokens: this node's own, or the cluster's. */
  readonly tokens: FileTokens;

  constructor(
    db: Db,
    dataDir: string,
    readonly store: Store,
    private readonly limits: () => Limits,
    private readonly publicUrl: string,
    readonly log: Logger,
    /** The tenant's other settings, served by the same settings route. */
    readonly tenant: TenantSettings,
    sharing: LibrarySharing,
  ) {
    this.files = new LibraryStore(db, dataDir, sharing.content);
    this.tokens = sharing.tokens;
  }

  maxFileBytes(): number {
    return this.limits().libraryFileBytes;
  }

  unsignedScriptsAllowed(): boolean {
    return this.store.getSetting(UNSIGNED_SCRIPTS_SETTING) === 'true';
  }

  setUnsignedScriptsAllowed(allowed: boolean): void {
    this.store.setSetting(UNSIGNED_SCRIPTS_SETTING, allowed ? 'true' : 'false');
  }

  /**
   * Uploads and deletes: the library-manager permission ("manage security settings") on an advanced user, or an admin.
   */
  static mayManage(user: User): boolean {
    return user.role === 'admin' || (user.libraryManager && roleAllows(user.role, 'advanced'));
  }

  static manageRefusal(user: User): string {
    return roleAllows(user.role, 'advanced')
      ? `refused: managing the library needs the library-manager permission (${user.name} does not have it)`
      : `refused: managing the library needs the advanced role and the library-manager permission (you are ${user.role})`;
  }

  /** A library file as listed (REST, `lr library list`, the `library` console command). */
  record(f: LibraryFile): LibraryRecord {
    return {
      name: f.name,
      description: f.description,
      size: f.size,
      sha256: f.sha256,
      uploadedBy: f.uploadedBy,
      uploadedAt: f.uploadedAt,
      signature: this.files.signatureState(f),
      publisher: f.publisher,
      parametersDescription: f.parametersDescription,
      parametersExample: f.parametersExample,
    };
  }

  list(): LibraryRecord[] {
    return this.files.list().map((f) => this.record(f));
  }

  /** The HTTPS address an agent downloads a library file from, with a fresh one-time token. */
  private downloadUrl(f: LibraryFile, deviceId: string): string {
    const token = this.tokens.issue({ name: f.name, deviceId, sha256: f.sha256 });
    return `${httpsBase(this.publicUrl)}/api/v1/agent/files/${token}`;
  }

  /** Registers the putfile and run preparers on the pipeline, and makes the library reachable from it. */
  attach(pipeline: Pipeline): void {
    ATTACHED.set(pipeline, this);
    pipeline.prepare('putfile', ({ session, params }) => {
      const name = String(params.name);
      const f = this.files.get(name);
      if (!f) return { refuse: `putfile: no library file ${name}` };
      return { params: { ...params, _sha256: f.sha256, _size: f.size, _url: this.downloadUrl(f, session.device.id) } };
    });
    pipeline.prepare('run', ({ session, params }) => {
      const name = String(params.script);
      const f = this.files.get(name);
      if (!f) return { refuse: `run: no library file ${name}` };
      if (hasForbiddenParameterChars(String(params.parameters ?? ''))) return { refuse: FORBIDDEN_PARAMETERS_MESSAGE };
      // cmd.exe reads a batch file's parameters as syntax: refused here already (the agent checks again).
      const batchProblem =
        libraryRunner(name) === 'cmd' ? batchParametersProblem(String(params.parameters ?? '')) : null;
      if (batchProblem) return { refuse: batchProblem };
      const allowUnsigned = this.unsignedScriptsAllowed();
      const publisher = f.signature && f.publisher ? this.files.getPublisher(f.publisher) : null;
      if (!publisher && !allowUnsigned) {
        const why = f.signature ? ` (its publisher ${f.publisher} is no longer trusted)` : '';
        return { refuse: `run: ${name} is not signed${why} and unsigned scripts are not allowed on this tenant` };
      }
      const prepared: BoundParams = {
        ...params,
        _sha256: f.sha256,
        _size: f.size,
        _url: this.downloadUrl(f, session.device.id),
        _allowUnsigned: allowUnsigned,
      };
      if (publisher && f.signature)
        Object.assign(prepared, { _signature: f.signature, _publisherKey: publisher.publicKey });
      return { params: prepared };
    });
  }
}

/** The library of each running service, found from its pipeline (service console commands get the pipeline). */
const ATTACHED = new WeakMap<Pipeline, LibraryService>();

export function libraryOf(pipeline: Pipeline): LibraryService | undefined {
  return ATTACHED.get(pipeline);
}
