/**
 * The batch engine end to end through its REST routes and BatchApi: real service, real agents. One batch
 * over two devices with two steps (records, then a pulled file): merged rows with a device column, the file
 * kept per device with the agent's SHA-256, each step an ordinary (verifiable) command log entry in a
 * session marked with the batch's id. A failing step stops the next ones and says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createWorld, waitFor, type World } from './harness.js';
import { BatchApi } from '../../src/client/batch-api.js';
import { profileSchema } from '../../src/node/profile.js';
import type { BatchRecord } from '../../src/shared/wire/batch.js';

describe('batch engine', () => {
  let w: World;
  let api: BatchApi;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('alpha');
    await w.addAgent('beta');
    api = new BatchApi(profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8'))));
  }, 60_000);
  afterAll(async () => w?.cleanup());

  const final = (id: string) =>
    waitFor(
      `batch ${id} final`,
      async () => {
        const b = await api.get(id);
        return b.status !== 'running' ? b : undefined;
      },
      30_000,
    );

  it('runs every step on every device, merges the records, keeps the pulled file with its SHA-256', async () => {
    const created = await api.create({
      commands: ['processes -pid 1', 'getfile /etc/hostname'],
      target: { devices: ['alpha', 'beta'] },
      comment: 'engine test',
    });
    expect(created.targets.map((t) => t.deviceName)).toEqual(['alpha', 'beta']);
    const b: BatchRecord = await final(created.id);
    expect(b.status).toBe('completed');
    expect(b.counts.completed).toBe(2);
    const results = await api.results(b.id);
    expect(results.columns.slice(0, 2)).toEqual(['device', 'step']);
    expect(new Set(results.rows.filter((r) => r.step === 0).map((r) => r.device))).toEqual(new Set(['alpha', 'beta']));
    expect(results.rows.filter((r) => r.step === 0 && r.pid === 1)).toHaveLength(2);
    const want = createHash('sha256').update(readFileSync('/etc/hostname')).digest('hex');
    expect(results.files.map((f) => [f.device, f.sha256])).toEqual([
      ['alpha', want],
      ['beta', want],
    ]);
    const f = results.files[0] as (typeof results.files)[number];
    const dest = join(w.dir, 'hostname.copy');
    expect(await api.downloadFile(b.id, f.deviceId, f.step, dest, f.sha256)).toEqual({
      sha256: want,
      size: readFileSync('/etc/hostname').length,
    });
    const csv = await api.resultsCsv(b.id, { device: 'beta' });
    expect(csv.split('\r\n')[0]?.startsWith('device,step,')).toBe(true);
    expect(csv).not.toContain('alpha');

    // Every step is a command log entry of a session the batch opened, and the log verifies.
    const db = new Database(join(w.dataDir, 'lr.db'), { readonly: true });
    try {
      for (const t of b.targets) {
        for (const s of t.steps) {
          const row = db
            .prepare(
              'SELECT c.status, s.batch_id FROM commands c JOIN sessions s ON s.id = c.session_id WHERE c.id = ?',
            )
            .get(s.commandId) as { status: string; batch_id: string };
          expect(row).toEqual({ status: 'completed', batch_id: b.id });
        }
      }
    } finally {
      db.close();
    }
    const logged = await w.lr(['log', '--batch', b.id, '--json']);
    expect(logged.code, logged.stderr).toBe(0);
    const entries = JSON.parse(logged.stdout) as { id: string }[];
    expect(entries.map((e) => e.id).sort()).toEqual(b.targets.flatMap((t) => t.steps.map((s) => s.commandId)).sort());
    const verify = await w.lr(['log', 'verify']);
    expect(verify.code, verify.stderr).toBe(0);
  }, 60_000);

  it('a failing step stops the ones after it and says why', async () => {
    const created = await api.create({
      commands: ['fileinfo /nonexistent/x', 'processes -pid 1'],
      target: { devices: ['alpha'] },
    });
    const b = await final(created.id);
    expect(b.status).toBe('failed');
    const t = b.targets[0];
    expect(t?.status).toBe('failed');
    expect(t?.steps[0]?.status).toBe('failed');
    expect(t?.steps[1]).toMatchObject({ status: 'not-run', error: 'not run: step 1 failed' });
    expect(t?.note).toMatch(/^step 1 \(fileinfo \/nonexistent\/x\) failed: /);
  }, 30_000);

  it('runs one command line on one device and answers its results (POST /api/v1/devices/{device}/commands)', async () => {
    const answer = await api.command('beta', 'processes -pid 1');
    expect(answer.batch.status).toBe('completed');
    expect(answer.results?.rows.map((r) => [r.device, r.pid])).toEqual([['beta', 1]]);
    const later = await api.command('beta', 'processes -pid 1', { waitSec: 0 });
    expect(later.batch.commands).toEqual(['processes -pid 1']);
    expect((await final(later.batch.id)).status).toBe('completed');
  }, 30_000);

  it('refuses a batch with an unknown device, a client-side command or nothing selected, starting nothing', async () => {
    await expect(api.create({ commands: ['processes'], target: { devices: ['alpha', 'nope'] } })).rejects.toThrow(
      /no device "nope"/,
    );
    await expect(api.create({ commands: ['processes &'], target: { devices: ['alpha'] } })).rejects.toThrow(
      /& has no meaning in a batch/,
    );
    await expect(api.create({ commands: ['processes'], target: {} })).rejects.toThrow(/choose the devices/);
    await expect(api.create({ commands: ['processes'], target: { name: 'zz*' } })).rejects.toThrow(/no device matches/);
  });
});
