/**
 * The capture side of the cluster's state replication (state-tables.ts) on a real SQLite database, without
 * NATS: the description matches db.ts, the triggers write the outbox for shared tables only, not for a
 * presence update, not while the replicator applies, and entries off the network are checked.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDb, type Db } from '../../../../src/server/db.js';
import { Store } from '../../../../src/server/store.js';
import { GroupStore } from '../../../../src/server/groups.js';
import {
  captureSql,
  checkRow,
  CONTROL_TABLE,
  dropCaptureSql,
  OUTBOX_TABLE,
  parseKey,
  prepareTable,
  rowKey,
  seedSql,
  sharedTable,
  SHARED_TABLES,
} from '../../../../src/server/cluster/state-tables.js';
import { removeStateCapture } from '../../../../src/server/cluster/state-replication.js';

let dir: string;
let db: Db;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lr-state-'));
  db = openDb(path.join(dir, 'lr.db'));
  store = new Store(db);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const outbox = () =>
  db.prepare(`SELECT tbl, pk, row FROM ${OUTBOX_TABLE} ORDER BY seq`).all() as {
    tbl: string;
    pk: string;
    row: string | null;
  }[];

describe('state tables', () => {
  it('describes every column of every shared table but devices.last_seen, with the right primary key', () => {
    for (const t of SHARED_TABLES) {
      const cols = db.prepare(`PRAGMA table_info("${t.name}")`).all() as {
        name: string;
        notnull: number;
        pk: number;
        type: string;
      }[];
      const expected = cols.map((c) => c.name).filter((c) => !(t.name === 'devices' && c === 'last_seen'));
      expect(Object.keys(t.columns), t.name).toEqual(expected);
      const pk = cols
        .filter((c) => c.pk > 0)
        .sort((x, y) => x.pk - y.pk)
        .map((c) => c.name);
      expect(t.pk, t.name).toEqual(pk);
      for (const c of cols) {
        const type = t.columns[c.name];
        if (!type) continue;
        expect(type.startsWith(c.type === 'INTEGER' ? 'int' : 'text'), `${t.name}.${c.name}`).toBe(true);
        expect(type.endsWith('?'), `${t.name}.${c.name} nullability`).toBe(c.notnull === 0 && c.pk === 0);
      }
    }
  });

  it('a database without the capture has no outbox (single node)', () => {
    store.createUser('a', 'admin', true);
    expect(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = '${OUTBOX_TABLE}'`).pluck().get()).toBe(0);
  });

  it('captures inserts, updates and deletes of shared tables, never of the others', () => {
    db.exec(captureSql());
    db.exec(captureSql()); // start-up runs it every time
    const u = store.createUser('alice', 'basic', false);
    store.issueApiToken(u.id);
    store.setSetting('liveResponse', 'false');
    store.insertCommand({
      id: 'c1',
      sessionId: null,
      userId: u.id,
      deviceId: null,
      commandLine: 'ls',
      name: 'ls',
      status: 'refused',
      background: false,
    }); // not shared
    const rows = outbox();
    expect(rows.map((r) => r.tbl)).toEqual(['users', 'api_tokens', 'settings']);
    expect(JSON.parse(rows[0]!.row!)).toEqual({
      id: u.id,
      name: 'alice',
      role: 'basic',
      library_manager: 0,
      created_at: expect.any(String),
      disabled_at: null,
    });
    expect(rows[0]!.pk).toBe(JSON.stringify([u.id]));
    db.prepare('DELETE FROM settings').run();
    expect(outbox().at(-1)).toEqual({ tbl: 'settings', pk: '["liveResponse"]', row: null });
  });

  it('a presence update (last_seen alone) is not captured; a device change is, without last_seen', async () => {
    db.exec(captureSql());
    const { token } = store.createEnrollToken(60_000);
    const r = store.enrollDevice(
      token,
      { name: 'pc', hostname: 'pc', os: 'Linux', platform: 'linux', agentVersion: '1' },
      'pk',
    );
    if (!r.ok) throw new Error(r.error);
    const before = outbox().length;
    store.touchDevice(r.deviceId);
    store.flushPresence();
    // The agent's hello with unchanged info rewrites every column with the same values: nothing to say.
    store.updateDeviceInfo(r.deviceId, {
      name: 'pc',
      hostname: 'pc',
      os: 'Linux',
      platform: 'linux',
      agentVersion: '1',
    });
    store.flushPresence();
    expect(outbox().length).toBe(before);
    store.updateDeviceInfo(r.deviceId, {
      name: 'pc',
      hostname: 'pc',
      os: 'Linux',
      platform: 'linux',
      agentVersion: '2',
    });
    store.flushPresence();
    const last = outbox().at(-1)!;
    expect(last.tbl).toBe('devices');
    expect(JSON.parse(last.row!)).toMatchObject({ agent_version: '2' });
    expect(JSON.parse(last.row!)).not.toHaveProperty('last_seen');
  });

  it('a cascade delete captures the dependent rows too', () => {
    db.exec(captureSql());
    const { token } = store.createEnrollToken(60_000);
    const r = store.enrollDevice(
      token,
      { name: 'pc', hostname: 'pc', os: 'Linux', platform: 'linux', agentVersion: '1' },
      'pk',
    );
    if (!r.ok) throw new Error(r.error);
    new GroupStore(db).setTags(r.deviceId, ['a', 'b']);
    db.prepare('DELETE FROM devices WHERE id = ?').run(r.deviceId);
    const deletes = outbox()
      .filter((x) => x.row === null)
      .map((x) => x.tbl);
    expect(deletes.sort()).toEqual(['device_tags', 'device_tags', 'devices']);
  });

  it('writes made while the apply flag is set are not captured; upserts keep dependent rows', () => {
    db.exec(captureSql());
    const { token } = store.createEnrollToken(60_000);
    const r = store.enrollDevice(
      token,
      { name: 'pc', hostname: 'pc', os: 'Linux', platform: 'linux', agentVersion: '1' },
      'pk',
    );
    if (!r.ok) throw new Error(r.error);
    new GroupStore(db).setTags(r.deviceId, ['a']);
    store.touchDevice(r.deviceId);
    store.flushPresence();
    const before = outbox().length;
    const devices = prepareTable(db, sharedTable('devices')!);
    db.transaction(() => {
      db.prepare(`UPDATE ${CONTROL_TABLE} SET applying = 1`).run();
      devices.upsert({
        id: r.deviceId,
        name: 'renamed',
        hostname: 'pc',
        os: 'Linux',
        platform: 'linux',
        agent_version: '1',
        public_key: 'pk',
        enrolled_at: 'x',
        isolated: 1,
      });
      db.prepare(`UPDATE ${CONTROL_TABLE} SET applying = 0`).run();
    })();
    expect(outbox().length).toBe(before);
    expect(store.getDevice(r.deviceId)).toMatchObject({
      name: 'renamed',
      isolated: true,
      lastSeen: expect.any(String),
    });
    expect(new GroupStore(db).tags(r.deviceId)).toEqual(['a']);
  });

  it("finds the local user that holds a remote user's name under another id", () => {
    const bob = store.createUser('bob', 'basic', false);
    const users = prepareTable(db, sharedTable('users')!);
    const row = { id: 'remote-id', name: 'bob', role: 'admin', library_manager: 0, created_at: 'x', disabled_at: null };
    expect(users.colliding(row)).toEqual([JSON.stringify([bob.id])]);
    expect(users.colliding({ ...row, id: bob.id })).toEqual([]);
    expect(users.colliding({ ...row, name: 'other' })).toEqual([]);
  });

  it('seeds the outbox with every shared row', () => {
    db.exec(captureSql());
    db.exec(`DELETE FROM ${OUTBOX_TABLE}`);
    for (const t of SHARED_TABLES) db.exec(seedSql(t));
    expect(outbox().map((r) => r.tbl)).toEqual(['device_groups']); // the default group of a fresh database
  });

  it('checks keys and rows from the network', () => {
    const key = rowKey('users', '["u1"]');
    expect(key).toBe(`users.${Buffer.from('["u1"]').toString('base64url')}`);
    expect(key).toMatch(/^[-/_=.a-zA-Z0-9]+$/);
    const parsed = parseKey(key);
    expect(parsed).toMatchObject({ pk: ['u1'], pkJson: '["u1"]' });
    expect(parseKey('sessions.WyJ4Il0')).toBe('not a shared table');
    expect(parseKey('users')).toBe('key has no table');
    expect(parseKey('users.WyJ4Il0=')).toBe('primary key is not base64url');
    expect(parseKey(rowKey('users', '["a","b"]'))).toBe('primary key has the wrong arity');
    expect(parseKey(rowKey('users', '[1]'))).toBe('primary key has the wrong type');
    expect(parseKey(rowKey('users', 'nope'))).toBe('primary key is not JSON');
    const t = sharedTable('users')!;
    const good = { id: 'u1', name: 'n', role: 'basic', library_manager: 0, created_at: 'x', disabled_at: null };
    expect(checkRow(t, ['u1'], good)).toEqual(good);
    expect(checkRow(t, ['u2'], good)).toBe('row does not match its key');
    expect(checkRow(t, ['u1'], { ...good, extra: 1 })).toBe('row does not have the expected columns');
    expect(checkRow(t, ['u1'], { ...good, library_manager: '1' })).toBe('column library_manager has the wrong type');
    expect(checkRow(t, ['u1'], { ...good, name: null })).toBe('column name has the wrong type');
    expect(checkRow(t, ['u1'], [good])).toBe('row is not an object');
  });

  it('removing the capture leaves no trigger and no outbox', () => {
    db.exec(captureSql());
    removeStateCapture(db);
    db.exec(dropCaptureSql()); // twice: harmless
    store.createUser('x', 'basic', false);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'repl_%'").pluck().get()).toBe(0);
  });
});
