/**
 * Agent releases (self-update): the builds an admin added with `lr-server agent-release add`, each signed
 * with the service's command-signing key over agentReleasePayload (target, version, SHA-256, size), its
 * file kept under DATA/agent-releases/<id>/ (mode 0600) and its row in `agent_releases`; plus what each
 * device reported for each release (`agent_release_reports`): a release a device refused or rolled back is
 * never offered to it again, until an admin adds it again (a new release id).
 */
import { chmodSync, copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_TARGETS, agentFileName, compareAgentVersions, type AgentTarget } from '../shared/wire/agent-release.js';
import { digestFile } from '../node/digest-stream.js';
import { newId } from '../node/ids.js';
import type { Db } from './db.js';
import type { CommandSigner } from './command-signing.js';
import { fileFormatProblem, readReleaseInfo } from './agent-releases-file.js';
import { GROUP_NAME } from './groups.js';

export interface AgentRelease {
  id: string;
  target: AgentTarget;
  version: string;
  build: string;
  sha256: string;
  size: number;
  sig: string;
  /** Offered to this device group only; null: every device of the target. */
  group: string | null;
  createdAt: string;
  createdBy: string;
}

/** What a device said of a release (update.status); `staged` and `applied` are kept for the record. */
export type ReleaseReportState = 'refused' | 'failed' | 'staged' | 'applied' | 'rolled_back';
/** Reports after which the release is not offered to that device again. */
export const FINAL_REFUSALS: ReadonlySet<ReleaseReportState> = new Set(['refused', 'rolled_back']);

interface Row {
  id: string;
  target: string;
  version: string;
  build: string;
  sha256: string;
  size: number;
  sig: string;
  group_name: string | null;
  created_at: string;
  created_by: string;
}

const toRelease = (r: Row): AgentRelease => ({
  id: r.id,
  target: r.target as AgentTarget,
  version: r.version,
  build: r.build,
  sha256: r.sha256,
  size: r.size,
  sig: r.sig,
  group: r.group_name,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

export function releasesDir(dataDir: string): string {
  return join(dataDir, 'agent-releases');
}

export class AgentReleases {
  constructor(
    private readonly db: Db,
    private readonly dataDir: string,
  ) {}

  /** Newest version first. */
  list(): AgentRelease[] {
    const rows = (this.db.prepare('SELECT * FROM agent_releases').all() as Row[]).map(toRelease);
    return rows.sort((a, b) => compareAgentVersions(b.version, a.version) || b.createdAt.localeCompare(a.createdAt));
  }

  get(id: string): AgentRelease | null {
    const row = this.db.prepare('SELECT * FROM agent_releases WHERE id = ?').get(id) as Row | undefined;
    return row ? toRelease(row) : null;
  }

  filePath(r: Pick<AgentRelease, 'id' | 'target'>): string {
    return join(releasesDir(this.dataDir), r.id, agentFileName(r.target));
  }

  /** Changes when a release is added or removed (the running service polls it: the CLI writes the database). */
  stamp(): string {
    const r = this.db
      .prepare(
        "SELECT count(*) AS n, coalesce(group_concat(id, ','), '') AS ids FROM (SELECT id FROM agent_releases ORDER BY id)",
      )
      .get() as { n: number; ids: string };
    return `${r.n}:${r.ids}`;
  }

  /**
   * Adds the build at `file` for `target`: its version from the file's release-info literal (never run),
   * its format checked against the target, hashed, signed, copied in. The same target, version and group
   * added again replaces the earlier release (a new id: devices that refused the old one are offered it again).
   */
  async add(
    file: string,
    target: string,
    group: string | null,
    by: string,
    signer: CommandSigner,
    groupExists: (name: string) => boolean,
  ): Promise<AgentRelease> {
    if (!(AGENT_TARGETS as readonly string[]).includes(target))
      throw new Error(`unknown target ${JSON.stringify(target)} (expected one of ${AGENT_TARGETS.join(', ')})`);
    const t = target as AgentTarget;
    if (group !== null && (!GROUP_NAME.test(group) || !groupExists(group)))
      throw new Error(`no device group ${JSON.stringify(group)} (lr groups list)`);
    const format = await fileFormatProblem(file, t);
    if (format) throw new Error(`${file}: ${format}: refusing it as a ${t} build`);
    const info = await readReleaseInfo(file);
    const id = newId();
    const dest = this.filePath({ id, target: t });
    mkdirSync(join(releasesDir(this.dataDir), id), { recursive: true, mode: 0o700 });
    try {
      copyFileSync(file, dest);
      chmodSync(dest, 0o600); // served, never run by the service
      // Hashed from the copy the service will serve, so that what is signed is what is sent.
      const { sha256, size } = await digestFile(dest);
      const sig = signer.signRelease({ target: t, version: info.version, sha256, size });
      const release: AgentRelease = {
        id,
        target: t,
        version: info.version,
        build: info.build,
        sha256,
        size,
        sig,
        group,
        createdAt: new Date().toISOString(),
        createdBy: by,
      };
      const replaced = this.db.transaction(() => {
        const old = this.db
          .prepare('SELECT id FROM agent_releases WHERE target = ? AND version = ? AND group_name IS ?')
          .all(t, info.version, group) as { id: string }[];
        for (const o of old) this.db.prepare('DELETE FROM agent_releases WHERE id = ?').run(o.id);
        this.db
          .prepare(
            'INSERT INTO agent_releases (id, target, version, build, sha256, size, sig, group_name, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(id, t, release.version, release.build, sha256, size, sig, group, release.createdAt, by);
        return old.map((o) => o.id);
      })();
      for (const old of replaced) rmSync(join(releasesDir(this.dataDir), old), { recursive: true, force: true });
      return release;
    } catch (e) {
      rmSync(join(releasesDir(this.dataDir), id), { recursive: true, force: true });
      throw e;
    }
  }

  remove(id: string): AgentRelease | null {
    const r = this.get(id);
    if (!r) return null;
    this.db.prepare('DELETE FROM agent_releases WHERE id = ?').run(id);
    rmSync(join(releasesDir(this.dataDir), id), { recursive: true, force: true });
    return r;
  }

  report(deviceId: string, releaseId: string, state: ReleaseReportState, message: string | undefined): void {
    this.db
      .prepare(
        'INSERT INTO agent_release_reports (device_id, release_id, state, message, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id, release_id) DO UPDATE SET state = excluded.state, message = excluded.message, at = excluded.at',
      )
      .run(deviceId, releaseId, state, message ?? null, new Date().toISOString());
  }

  /** Releases this device refused or rolled back: never offered to it again. */
  refusedBy(deviceId: string): Set<string> {
    const rows = this.db
      .prepare(
        "SELECT release_id FROM agent_release_reports WHERE device_id = ? AND state IN ('refused', 'rolled_back')",
      )
      .all(deviceId) as { release_id: string }[];
    return new Set(rows.map((r) => r.release_id));
  }
}
