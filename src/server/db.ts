/** Opens the service database (SQLite, WAL) and applies its migrations, each in a transaction. */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { nameCandidates, nameKey } from '../shared/wire/device-name.js';

export type Db = Database.Database;

/** A migration: SQL, or a function for what SQL alone cannot say (run in the same transaction). */
type Migration = string | ((db: Db) => void);

const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('basic','advanced','admin')),
    library_manager INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    disabled_at TEXT
  );
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
  );
  CREATE TABLE enroll_tokens (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    used_by_device TEXT
  );
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hostname TEXT NOT NULL,
    os TEXT NOT NULL,
    platform TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    public_key TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    last_seen TEXT,
    isolated INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    started_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT
  );
  CREATE TABLE commands (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT,
    user_id TEXT NOT NULL,
    device_id TEXT,
    command_line TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    background INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    duration_ms INTEGER,
    error TEXT,
    output TEXT NOT NULL DEFAULT '',
    output_size INTEGER NOT NULL DEFAULT 0,
    output_sha256 TEXT,
    output_truncated INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX commands_device ON commands(device_id, seq);
  CREATE INDEX commands_session ON commands(session_id, seq);
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  // 1: the script library (file content lives on disk under DATA/library/) and trusted script publishers.
  `
  CREATE TABLE library_files (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    parameters_description TEXT NOT NULL DEFAULT '',
    parameters_example TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    signature TEXT,
    publisher TEXT
  );
  CREATE TABLE publishers (
    name TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
  );
  `,
  // 2: the tenant's hash indicators (analyze), see response-actions.ts.
  `
  CREATE TABLE indicators (
    sha256 TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
  );
  `,
  // 3: access control: the command log's hash chain (log-chain.ts), device groups with their
  // remediation level and membership rules (groups.ts), and the index the revocation watcher polls (tokens.ts).
  `
  ALTER TABLE commands ADD COLUMN log_prev TEXT;
  ALTER TABLE commands ADD COLUMN log_chain TEXT;
  ALTER TABLE commands ADD COLUMN log_seal TEXT;
  CREATE TABLE device_groups (
    name TEXT PRIMARY KEY,
    remediation_level TEXT NOT NULL CHECK (remediation_level IN ('none','semi','full')),
    rule_name TEXT,
    rule_os TEXT,
    rule_tag TEXT,
    rank INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  INSERT INTO device_groups (name, remediation_level, rank, created_at) VALUES ('default', 'full', 1000000000, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
  CREATE TABLE device_group_members (
    device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    group_name TEXT NOT NULL REFERENCES device_groups(name) ON DELETE CASCADE,
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL
  );
  CREATE TABLE device_tags (
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (device_id, tag)
  );
  CREATE INDEX api_tokens_revoked ON api_tokens(revoked_at);
  CREATE INDEX api_tokens_user ON api_tokens(user_id);
  `,
  // 4: the command log viewer filters by status and user over 100 000s of entries.
  `
  CREATE INDEX commands_status ON commands(status, seq);
  CREATE INDEX commands_user ON commands(user_id, seq);
  `,
  // 5: device names are unique per tenant, without regard to case (they were chosen by each agent's hello).
  uniqueDeviceNames,
  // 6: commands the console runs for itself (path completion's folder listings) are flagged, kept out of `jobs`.
  internalCommands,
  // 7: agent self-update (agent-releases.ts): the builds admins added (files under DATA/agent-releases/), and
  // what each device reported for each, so that a release refused or rolled back on a device is not offered again.
  `
  CREATE TABLE IF NOT EXISTS agent_releases (
    id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    version TEXT NOT NULL,
    build TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    sig TEXT NOT NULL,
    group_name TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS agent_release_reports (
    device_id TEXT NOT NULL,
    release_id TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (device_id, release_id)
  );
  `,
  // 8: batch runs and machine actions (batch/): what to run where, each device's progress, kept across restarts
  // (queued work runs after one). A session opened for a batch says so (its commands are the batch's in the log).
  `
  CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    comment TEXT,
    commands TEXT NOT NULL,
    target TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    expires_at TEXT NOT NULL,
    cancelled_by TEXT,
    ended_at TEXT
  );
  CREATE INDEX IF NOT EXISTS batches_open ON batches(ended_at);
  CREATE TABLE IF NOT EXISTS batch_targets (
    batch_id TEXT NOT NULL REFERENCES batches(id),
    device_id TEXT NOT NULL,
    device_name TEXT NOT NULL,
    ord INTEGER NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    session_id TEXT,
    started_at TEXT,
    ended_at TEXT,
    rows INTEGER NOT NULL DEFAULT 0,
    steps TEXT NOT NULL,
    PRIMARY KEY (batch_id, device_id)
  );
  CREATE INDEX IF NOT EXISTS batch_targets_device ON batch_targets(device_id, status);
  `,
  sessionBatchIds,
];

/** The schema version a database has once every migration ran. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Adds `sessions.batch_id` (once: a database rewound to an earlier version may already have it). */
function sessionBatchIds(db: Db): void {
  const columns = db.prepare('PRAGMA table_info(sessions)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'batch_id')) db.exec('ALTER TABLE sessions ADD COLUMN batch_id TEXT');
}

/** Adds `commands.internal` (once: a database rewound to an earlier version may already have it). */
function internalCommands(db: Db): void {
  const columns = db.prepare('PRAGMA table_info(commands)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'internal'))
    db.exec('ALTER TABLE commands ADD COLUMN internal INTEGER NOT NULL DEFAULT 0');
}

/**
 * Existing duplicates keep their name for the first enrolled (then the smaller id) and get the first free
 * `-2`, `-3`… suffix after it, in that same order: the same result on every node of a cluster, whose capture
 * triggers publish the renames. A suffix never takes a name another device already has.
 */
function uniqueDeviceNames(db: Db): void {
  const rows = db.prepare('SELECT id, name FROM devices ORDER BY enrolled_at, id').all() as {
    id: string;
    name: string;
  }[];
  const taken = new Set(rows.map((r) => nameKey(r.name)));
  const kept = new Set<string>();
  const rename = db.prepare('UPDATE devices SET name = ? WHERE id = ?');
  for (const r of rows) {
    if (!kept.has(nameKey(r.name))) {
      kept.add(nameKey(r.name));
      continue;
    }
    for (const candidate of nameCandidates(r.name)) {
      if (taken.has(nameKey(candidate))) continue;
      taken.add(nameKey(candidate));
      kept.add(nameKey(candidate));
      rename.run(candidate, r.id);
      break;
    }
  }
  db.exec('CREATE UNIQUE INDEX devices_name ON devices(name COLLATE NOCASE)');
}

export interface OpenDbOptions {
  /**
   * A better-sqlite3 native module to load instead of its own build: the workstation passes its
   * Electron-ABI build when the embedded service runs inside Electron. Undefined: better-sqlite3's own
   * (Node ABI) build, as for lr-server and the tests.
   */
  nativeBinding?: string | undefined;
}

export function openDb(file: string, options: OpenDbOptions = {}): Db {
  const { nativeBinding } = options;
  // better-sqlite3 would say "Cannot find module" with a require stack: one line instead.
  if (nativeBinding && !existsSync(nativeBinding))
    throw new Error(`the SQLite native module ${nativeBinding} is missing`);
  const db = new Database(file, nativeBinding ? { nativeBinding } : {});
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL'); // the command log must survive a power cut once a command is dispatched
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    const m = MIGRATIONS[v] as Migration;
    db.transaction(() => {
      if (typeof m === 'string') db.exec(m);
      else m(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
