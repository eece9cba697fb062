/**
 * The shared tables of a cluster as the state replication sees them: which tables and columns
 * travel between nodes, their primary keys, the SQL of the capture triggers and of the apply statements, and
 * the check of a row that came off the network. Everything here is built from this description, never from a
 * message: a remote entry can only name a table and columns listed below.
 *
 * Kept in step with db.ts by hand: a migration that adds a column to a shared table must add it here (a
 * column missing here is simply not replicated; the unit test compares this list with the live schema).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';

/** text: a string; int: a safe integer; `?`: may also be null. */
export type ColumnType = 'text' | 'text?' | 'int' | 'int?';

export interface SharedTable {
  name: string;
  /** Replicated columns, primary key first (local-only columns such as devices.last_seen are left out). */
  columns: Readonly<Record<string, ColumnType>>;
  pk: readonly string[];
  /** Other UNIQUE column sets: a remote row that collides with a local row on one of them replaces it. */
  unique?: readonly (readonly string[])[];
}

export const SHARED_TABLES: readonly SharedTable[] = [
  {
    name: 'users',
    pk: ['id'],
    unique: [['name']],
    columns: {
      id: 'text',
      name: 'text',
      role: 'text',
      library_manager: 'int',
      created_at: 'text',
      disabled_at: 'text?',
    },
  },
  {
    name: 'api_tokens',
    pk: ['id'],
    columns: {
      id: 'text',
      user_id: 'text',
      secret_hash: 'text',
      created_at: 'text',
      expires_at: 'text?',
      revoked_at: 'text?',
    },
  },
  {
    name: 'enroll_tokens',
    pk: ['id'],
    columns: {
      id: 'text',
      secret_hash: 'text',
      created_at: 'text',
      expires_at: 'text',
      used_at: 'text?',
      used_by_device: 'text?',
    },
  },
  // last_seen is presence, which every node writes for its own agents many times a minute: it stays local.
  {
    name: 'devices',
    pk: ['id'],
    columns: {
      id: 'text',
      name: 'text',
      hostname: 'text',
      os: 'text',
      platform: 'text',
      agent_version: 'text',
      public_key: 'text',
      enrolled_at: 'text',
      isolated: 'int',
    },
  },
  { name: 'settings', pk: ['key'], columns: { key: 'text', value: 'text' } },
  {
    name: 'device_groups',
    pk: ['name'],
    columns: {
      name: 'text',
      remediation_level: 'text',
      rule_name: 'text?',
      rule_os: 'text?',
      rule_tag: 'text?',
      rank: 'int',
      created_at: 'text',
    },
  },
  {
    name: 'device_group_members',
    pk: ['device_id'],
    columns: { device_id: 'text', group_name: 'text', assigned_by: 'text', assigned_at: 'text' },
  },
  { name: 'device_tags', pk: ['device_id', 'tag'], columns: { device_id: 'text', tag: 'text' } },
  {
    name: 'library_files',
    pk: ['name'],
    columns: {
      name: 'text',
      description: 'text',
      parameters_description: 'text',
      parameters_example: 'text',
      size: 'int',
      sha256: 'text',
      uploaded_by: 'text',
      uploaded_at: 'text',
      signature: 'text?',
      publisher: 'text?',
    },
  },
  {
    name: 'publishers',
    pk: ['name'],
    columns: { name: 'text', public_key: 'text', added_by: 'text', added_at: 'text' },
  },
  {
    name: 'indicators',
    pk: ['sha256'],
    columns: { sha256: 'text', description: 'text', added_by: 'text', added_at: 'text' },
  },
];

const BY_NAME = new Map(SHARED_TABLES.map((t) => [t.name, t]));

export function sharedTable(name: string): SharedTable | undefined {
  return BY_NAME.get(name);
}

/** A primary key value as it travels: the pk columns' values in order. */
export type PkValue = (string | number)[];
export type RowValue = Record<string, string | number | null>;

/** The bucket key of a row: `<table>.<base64url of the pk JSON>` (KV keys allow only [-/_=.a-zA-Z0-9]). */
export function rowKey(table: string, pkJson: string): string {
  return `${table}.${Buffer.from(pkJson, 'utf8').toString('base64url')}`;
}

/** Largest value accepted from the bucket (a library description is at most a few KB; this is generous). */
export const MAX_ROW_BYTES = 256 * 1024;

/** Splits a bucket key back into its table and pk; a problem (string) when it is not one of ours. */
export function parseKey(key: string): { table: SharedTable; pk: PkValue; pkJson: string } | string {
  const dot = key.indexOf('.');
  if (dot <= 0) return 'key has no table';
  const table = sharedTable(key.slice(0, dot));
  if (!table) return 'not a shared table';
  const enc = key.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(enc)) return 'primary key is not base64url';
  const pkJson = Buffer.from(enc, 'base64url').toString('utf8');
  let pk: unknown;
  try {
    pk = JSON.parse(pkJson);
  } catch {
    return 'primary key is not JSON';
  }
  if (!Array.isArray(pk) || pk.length !== table.pk.length) return 'primary key has the wrong arity';
  for (let i = 0; i < pk.length; i++) {
    if (!valueFits(pk[i], table.columns[table.pk[i] as string] as ColumnType) || pk[i] === null)
      return 'primary key has the wrong type';
  }
  return { table, pk: pk as PkValue, pkJson };
}

function valueFits(v: unknown, type: ColumnType): boolean {
  if (v === null) return type.endsWith('?');
  if (type.startsWith('text')) return typeof v === 'string' && v.length <= MAX_ROW_BYTES;
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Checks a row that came off the network: exactly the table's columns, each of its type, and the key's pk. */
export function checkRow(table: SharedTable, pk: PkValue, raw: unknown): RowValue | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'row is not an object';
  const row = raw as Record<string, unknown>;
  const names = Object.keys(row);
  const expected = Object.keys(table.columns);
  if (names.length !== expected.length || !expected.every((c) => Object.hasOwn(row, c)))
    return 'row does not have the expected columns';
  for (const c of expected)
    if (!valueFits(row[c], table.columns[c] as ColumnType)) return `column ${c} has the wrong type`;
  if (table.pk.some((c, i) => row[c] !== pk[i])) return 'row does not match its key';
  return row as RowValue;
}

const q = (id: string): string => `"${id}"`;

/** The one-row flag the triggers test: set only inside the replicator's own apply transactions. */
export const CONTROL_TABLE = 'repl_control';
export const OUTBOX_TABLE = 'repl_outbox';
/** The newest version applied per bucket key (the replay check of state-replication.ts). */
export const VERSIONS_TABLE = 'repl_versions';

function triggerNames(t: SharedTable): string[] {
  return [`repl_${t.name}_ins`, `repl_${t.name}_upd`, `repl_${t.name}_pk`, `repl_${t.name}_del`];
}

/**
 * The capture: the outbox, the control row and three triggers per table, all IF NOT EXISTS (start-up runs
 * it every time). Persistent triggers with a flag rather than TEMP triggers on the service's connection:
 * the offline CLI (`lr-server user revoke` on the data folder) writes through its own connection, and its
 * writes must reach the cluster too (published at the next start). The flag is set and cleared inside the
 * apply transaction, so no other connection ever sees it set: only the replicator's own writes are skipped.
 */
export function captureSql(): string {
  const parts = [
    `CREATE TABLE IF NOT EXISTS ${OUTBOX_TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, pk TEXT NOT NULL, row TEXT);`,
    `CREATE TABLE IF NOT EXISTS ${CONTROL_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), applying INTEGER NOT NULL);`,
    `INSERT OR IGNORE INTO ${CONTROL_TABLE} (id, applying) VALUES (1, 0);`,
    `CREATE TABLE IF NOT EXISTS ${VERSIONS_TABLE} (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;`,
  ];
  const idle = `(SELECT applying FROM ${CONTROL_TABLE} WHERE id = 1) = 0`;
  for (const t of SHARED_TABLES) {
    const [ins, upd, pkc, del] = triggerNames(t);
    const cols = Object.keys(t.columns);
    const obj = (ref: string) => `json_object(${cols.map((c) => `'${c}', ${ref}.${q(c)}`).join(', ')})`;
    const pk = (ref: string) => `json_array(${t.pk.map((c) => `${ref}.${q(c)}`).join(', ')})`;
    // An UPDATE that changes no replicated column (devices.last_seen alone) writes nothing.
    const changed = cols.map((c) => `OLD.${q(c)} IS NOT NEW.${q(c)}`).join(' OR ');
    const pkChanged = t.pk.map((c) => `OLD.${q(c)} IS NOT NEW.${q(c)}`).join(' OR ');
    const put = (ref: string) =>
      `INSERT INTO ${OUTBOX_TABLE} (tbl, pk, row) VALUES ('${t.name}', ${pk(ref)}, ${obj(ref)});`;
    parts.push(
      `CREATE TRIGGER IF NOT EXISTS ${ins} AFTER INSERT ON ${q(t.name)} WHEN ${idle} BEGIN ${put('NEW')} END;`,
      `CREATE TRIGGER IF NOT EXISTS ${upd} AFTER UPDATE ON ${q(t.name)} WHEN ${idle} AND (${changed}) BEGIN ${put('NEW')} END;`,
      // A primary key changed by an UPDATE: the old key is gone (the new one is written by the trigger above).
      `CREATE TRIGGER IF NOT EXISTS ${pkc} AFTER UPDATE ON ${q(t.name)} WHEN ${idle} AND (${pkChanged}) BEGIN INSERT INTO ${OUTBOX_TABLE} (tbl, pk, row) VALUES ('${t.name}', ${pk('OLD')}, NULL); END;`,
      `CREATE TRIGGER IF NOT EXISTS ${del} AFTER DELETE ON ${q(t.name)} WHEN ${idle} BEGIN INSERT INTO ${OUTBOX_TABLE} (tbl, pk, row) VALUES ('${t.name}', ${pk('OLD')}, NULL); END;`,
    );
  }
  return parts.join('\n');
}

/** Removes the capture (a node leaving the cluster for single-node mode must not grow an outbox forever). */
export function dropCaptureSql(): string {
  const parts = SHARED_TABLES.flatMap((t) => triggerNames(t).map((n) => `DROP TRIGGER IF EXISTS ${n};`));
  parts.push(
    `DROP TABLE IF EXISTS ${OUTBOX_TABLE};`,
    `DROP TABLE IF EXISTS ${CONTROL_TABLE};`,
    `DROP TABLE IF EXISTS ${VERSIONS_TABLE};`,
  );
  return parts.join('\n');
}

/** Every local row of every shared table as outbox entries (the seed of an empty bucket). */
export function seedSql(t: SharedTable): string {
  const cols = Object.keys(t.columns);
  return `INSERT INTO ${OUTBOX_TABLE} (tbl, pk, row) SELECT '${t.name}', json_array(${t.pk.map(q).join(', ')}), json_object(${cols.map((c) => `'${c}', ${q(c)}`).join(', ')}) FROM ${q(t.name)}`;
}

/** The statements that apply remote entries to one table, prepared once. */
export interface TableStatements {
  upsert: (row: RowValue) => void;
  remove: (pk: PkValue) => void;
  /** The primary keys (pk JSON) of local rows holding one of this row's unique values under another key. */
  colliding: (row: RowValue) => string[];
  /** Every local primary key, as the canonical pk JSON. */
  localKeys: () => string[];
  /** Queues the local row (or its absence: a tombstone) for publishing again. */
  requeue: (pk: PkValue) => void;
}

export function prepareTable(db: Db, t: SharedTable): TableStatements {
  const cols = Object.keys(t.columns);
  const nonPk = cols.filter((c) => !t.pk.includes(c));
  const pkWhere = t.pk.map((c) => `${q(c)} = @${c}`).join(' AND ');
  // ON CONFLICT DO UPDATE, never INSERT OR REPLACE: REPLACE deletes the row first, which would cascade to
  // the rows that reference it (a device's tags and group membership). Columns left out (last_seen) keep
  // their local value.
  const set = nonPk.length
    ? `DO UPDATE SET ${nonPk.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`
    : 'DO NOTHING';
  const upsert = db.prepare(
    `INSERT INTO ${q(t.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')}) ON CONFLICT(${t.pk.map(q).join(', ')}) ${set}`,
  );
  const remove = db.prepare(`DELETE FROM ${q(t.name)} WHERE ${pkWhere}`);
  const collisions = (t.unique ?? []).map((u) =>
    db
      .prepare(
        `SELECT json_array(${t.pk.map(q).join(', ')}) FROM ${q(t.name)} WHERE ${u.map((c) => `${q(c)} = @${c}`).join(' AND ')} AND NOT (${pkWhere})`,
      )
      .pluck(),
  );
  const keys = db.prepare(`SELECT json_array(${t.pk.map(q).join(', ')}) FROM ${q(t.name)}`).pluck();
  // Prepared on first use: the outbox exists only once the capture is installed.
  let requeueStmts: { row: Statement; gone: Statement } | null = null;
  const requeueSql = () =>
    (requeueStmts ??= {
      row: db.prepare(
        `INSERT INTO ${OUTBOX_TABLE} (tbl, pk, row) SELECT '${t.name}', json_array(${t.pk.map(q).join(', ')}), json_object(${cols.map((c) => `'${c}', ${q(c)}`).join(', ')}) FROM ${q(t.name)} WHERE ${pkWhere}`,
      ),
      gone: db.prepare(`INSERT INTO ${OUTBOX_TABLE} (tbl, pk, row) VALUES ('${t.name}', ?, NULL)`),
    });
  const pkParams = (pk: PkValue) => Object.fromEntries(t.pk.map((c, i) => [c, pk[i]]));
  return {
    upsert: (row) => void upsert.run(row),
    remove: (pk) => void remove.run(pkParams(pk)),
    colliding: (row) => [...new Set(collisions.flatMap((c) => c.all(row) as string[]))],
    localKeys: () => keys.all() as string[],
    requeue: (pk) => {
      const r = requeueSql();
      if (r.row.run(pkParams(pk)).changes === 0) r.gone.run(JSON.stringify(pk));
    },
  };
}
