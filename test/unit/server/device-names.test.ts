/**
 * Device names on a real SQLite database (finding 8): unique without regard to case, chosen by the service
 * at enrollment (a taken one suffixed), never changed by the agent's hello, renamed by admins only when
 * free; and the migration that makes an existing database's duplicates unique, deterministically.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDb, SCHEMA_VERSION } from '../../../src/server/db.js';
import { Store } from '../../../src/server/store.js';
import { captureSql, OUTBOX_TABLE } from '../../../src/server/cluster/state-tables.js';
import { nameCandidates } from '../../../src/shared/wire/device-name.js';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lr-names-'));
  file = path.join(dir, 'lr.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const info = (name: string) => ({ name, hostname: 'h', os: 'Linux', platform: 'linux' as const, agentVersion: '1' });

function enroll(store: Store, name: string): { deviceId: string; name: string } {
  const r = store.enrollDevice(store.createEnrollToken(60_000).token, info(name), 'pk');
  if (!r.ok) throw new Error(r.error);
  return r;
}

describe('device names', () => {
  it('suffixes a taken name at enrollment, without regard to case', () => {
    const store = new Store(openDb(file));
    expect(enroll(store, 'web01').name).toBe('web01');
    expect(enroll(store, 'web01').name).toBe('web01-2');
    expect(enroll(store, 'Web01').name).toBe('Web01-3');
    expect(enroll(store, 'web01-2').name).toBe('web01-2-2');
    store.close();
  });

  it('refuses a second device with a name in any case at the database (unique index)', () => {
    const store = new Store(openDb(file));
    enroll(store, 'web01');
    store.close();
    const raw = new Database(file);
    expect(() =>
      raw
        .prepare(
          "INSERT INTO devices (id, name, hostname, os, platform, agent_version, public_key, enrolled_at) VALUES ('x', 'WEB01', 'h', 'o', 'linux', '1', 'pk', 't')",
        )
        .run(),
    ).toThrow(/UNIQUE constraint failed/);
    raw.close();
  });

  it("keeps the enrolled name whatever the agent's hello says", () => {
    const store = new Store(openDb(file));
    const d = enroll(store, 'keeper');
    store.updateDeviceInfo(d.deviceId, { ...info('someone-else'), hostname: 'new-host', agentVersion: '2' });
    store.flushPresence();
    const row = store.getDevice(d.deviceId);
    expect(row?.name).toBe('keeper');
    expect(row?.hostname).toBe('new-host'); // the other facts of the hello are kept
    expect(row?.agentVersion).toBe('2');
    store.close();
  });

  it('renames only to a free name; finds a device by its name in any case', () => {
    const store = new Store(openDb(file));
    const a = enroll(store, 'alpha');
    const b = enroll(store, 'beta');
    expect(store.renameDevice(b.deviceId, 'ALPHA')).toEqual({
      ok: false,
      error: `the name ALPHA is taken by device ${a.deviceId}`,
    });
    expect(store.renameDevice(b.deviceId, 'Beta')).toEqual({ ok: true, previous: 'beta' }); // its own name, new case
    expect(store.renameDevice(b.deviceId, 'gamma')).toEqual({ ok: true, previous: 'Beta' });
    expect((store.findDevice('GAMMA') as { id: string }).id).toBe(b.deviceId);
    expect(store.findDevice('beta')).toEqual({ error: 'no device beta' });
    store.close();
  });

  it('caps suffixed names at 128 characters', () => {
    const long = 'x'.repeat(128);
    const [, second] = [...take(nameCandidates(long), 2)];
    expect(second).toHaveLength(128);
    expect(second?.endsWith('-2')).toBe(true);
  });
});

function* take<T>(g: Generator<T>, n: number): Generator<T> {
  for (let i = 0; i < n; i++) yield g.next().value as T;
}

describe('migration of an existing database with duplicate names', () => {
  /** A database as the previous version left it (schema version 5, no unique index), with these devices. */
  function previousVersion(devices: [id: string, name: string, enrolledAt: string][], capture = false): void {
    openDb(file).close();
    const raw = new Database(file);
    raw.exec('DROP INDEX devices_name');
    if (capture) raw.exec(captureSql()); // a cluster node's database: its writes to shared tables are captured
    const insert = raw.prepare(
      "INSERT INTO devices (id, name, hostname, os, platform, agent_version, public_key, enrolled_at) VALUES (?, ?, 'h', 'o', 'linux', '1', 'pk', ?)",
    );
    for (const d of devices) insert.run(...d);
    raw.pragma('user_version = 5');
    raw.close();
  }

  it('keeps the first enrolled name and suffixes the later ones, never onto an existing name', () => {
    previousVersion([
      ['d3', 'web01', '2026-01-01T00:00:00.000Z'], // enrolled first: keeps the name
      ['d1', 'web01', '2026-01-03T00:00:00.000Z'],
      ['d2', 'WEB01', '2026-01-02T00:00:00.000Z'],
      ['d4', 'web01-2', '2026-01-04T00:00:00.000Z'], // a later device already holds the first suffix
      ['d0', 'db', '2026-01-01T00:00:00.000Z'],
      ['e0', 'db', '2026-01-01T00:00:00.000Z'], // same time: the smaller id keeps the name
    ]);
    const db = openDb(file);
    const names = Object.fromEntries(
      (db.prepare('SELECT id, name FROM devices').all() as { id: string; name: string }[]).map((r) => [r.id, r.name]),
    );
    expect(names).toEqual({ d3: 'web01', d2: 'WEB01-3', d1: 'web01-4', d4: 'web01-2', d0: 'db', e0: 'db-2' });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(() => db.prepare("UPDATE devices SET name = 'WEB01' WHERE id = 'd4'").run()).toThrow(
      /UNIQUE constraint failed/,
    );
    db.close();
  });

  it('publishes the renames of a cluster node (its capture triggers see them)', () => {
    previousVersion(
      [
        ['d1', 'web01', '2026-01-01T00:00:00.000Z'],
        ['d2', 'web01', '2026-01-02T00:00:00.000Z'],
      ],
      true,
    );
    const raw = new Database(file);
    raw.exec(`DELETE FROM ${OUTBOX_TABLE}`);
    raw.close();
    const db = openDb(file);
    const out = db.prepare(`SELECT tbl, row FROM ${OUTBOX_TABLE}`).all() as { tbl: string; row: string }[];
    expect(out.map((o) => [o.tbl, (JSON.parse(o.row) as { id: string; name: string }).name])).toEqual([
      ['devices', 'web01-2'],
    ]);
    db.close();
  });
});
