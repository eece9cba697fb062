/**
 * A batch's "Save to case" cancelled from the page: `lr:batches.saveToCase` with a callId, then
 * `lr:calls.cancel`, through the validated dispatcher with the route of src/main/ipc/routes.ts, a real
 * BatchService, a real case store, and real HTTPS downloads from a stand-in for the service (a loopback
 * HTTPS server answering the batch routes, one of its pulled files sent slowly). The workspace is a fake
 * giving the service's profile and the app data folders.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidatedDispatcher } from '../../../src/main/ipc/validated.js';
import { appDataPaths } from '../../../src/main/services/app-data.js';
import { BatchService } from '../../../src/main/services/batches.js';
import { CasesService } from '../../../src/main/services/cases.js';
import { createEventHub } from '../../../src/main/services/events.js';
import type { Workspace } from '../../../src/main/services/workspace.js';
import { Logger } from '../../../src/node/log.js';
import { createTlsMaterial } from '../../../src/server/tls.js';
import type { BatchRecord, BatchResults } from '../../../src/shared/wire/batch.js';
import type { BatchSaved, LrEvent } from '../../../src/shared/workstation/ipc-contract.js';

const trusted = { trusted: true };
const policy = { isTrusted: (sender: { trusted: boolean }) => sender.trusted };
const BATCH = 'b-cancel-1';
const small = randomBytes(64 * 1024);
const big = randomBytes(24 * 1024 * 1024);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let root: string;
let server: Server;
let cases: CasesService;
let batches: BatchService;
const events: LrEvent[] = [];
/** The slow file's responses: how each one ended on the stand-in's side. */
const bigDownloads: ('complete' | 'closed early')[] = [];

const step = (index: number, line: string, file: Buffer, name: string) => ({
  index,
  line,
  status: 'completed' as const,
  rows: 1,
  textBytes: 0,
  truncated: false,
  file: { name, size: file.length, sha256: sha(file) },
});
const counts = { queued: 0, running: 0, completed: 2, failed: 0, refused: 0, cancelled: 0, 'offline-expired': 0 };
const record = (): BatchRecord => ({
  id: BATCH,
  kind: 'batch',
  status: 'completed',
  createdBy: 'alice',
  createdAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:01:00.000Z',
  commands: ['getfile /var/log/x'],
  target: { devices: ['d1', 'd2'] },
  concurrency: 2,
  expiresAt: '2026-01-02T00:00:00.000Z',
  counts: counts as BatchRecord['counts'],
  targets: [
    {
      deviceId: 'd1',
      deviceName: 'web01',
      status: 'completed',
      rows: 1,
      steps: [step(0, 'getfile /var/log/a', small, 'a.log')],
    },
    {
      deviceId: 'd2',
      deviceName: 'web02',
      status: 'completed',
      rows: 1,
      steps: [step(0, 'getfile /var/log/b', big, 'b.img')],
    },
  ] as BatchRecord['targets'],
});
const results = (): BatchResults => ({
  batchId: BATCH,
  columns: ['device', 'step', 'name'],
  rows: [
    { device: 'web01', step: 0, name: 'a.log' },
    { device: 'web02', step: 0, name: 'b.img' },
  ],
  truncated: [],
  files: [
    { name: 'a.log', size: small.length, sha256: sha(small), device: 'web01', deviceId: 'd1', step: 0 },
    { name: 'b.img', size: big.length, sha256: sha(big), device: 'web02', deviceId: 'd2', step: 0 },
  ],
});

/** The big file in 256 KiB pieces, 20 ms apart (about 2 s in all): time to cancel in the middle. */
function sendSlowly(res: import('node:http').ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(big.length) });
  let at = 0;
  const timer = setInterval(() => {
    if (at >= big.length) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(big.subarray(at, at + 256 * 1024));
    at += 256 * 1024;
  }, 20);
  res.on('close', () => {
    clearInterval(timer);
    bigDownloads.push(res.writableFinished ? 'complete' : 'closed early');
  });
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'lr-ipc-cancel-batch-'));
  const tls = await createTlsMaterial(['127.0.0.1']);
  server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const url = req.url ?? '';
    const json = (v: unknown) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
    if (url === `/api/v1/batches/${BATCH}`) return json(record());
    if (url === `/api/v1/batches/${BATCH}/results`) return json(results());
    if (url === `/api/v1/batches/${BATCH}/results?format=csv`)
      return void res
        .writeHead(200, { 'content-type': 'text/csv' })
        .end('device,step,name\nweb01,0,a.log\nweb02,0,b.img\n');
    if (url === `/api/v1/batches/${BATCH}/files/d1/0`) return void res.writeHead(200).end(small);
    if (url === `/api/v1/batches/${BATCH}/files/d2/0`) return sendSlowly(res);
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  const profile = { kind: 'lr-profile' as const, url, urls: [url], ca: tls.caCert, user: 'alice', token: 'lrt_token' };
  const paths = appDataPaths(path.join(root, 'data'));
  mkdirSync(paths.downloads, { recursive: true });
  // Fake: only what BatchService reads of the workspace.
  const workspace = { paths, current: () => ({ generation: 1, profile, me: { name: 'alice', role: 'admin' } }) };
  const hub = createEventHub();
  hub.subscribe((e) => events.push(e));
  cases = new CasesService({ dir: path.join(root, 'cases'), exportsDir: path.join(root, 'exports'), events: hub });
  cases.create('Batch save');
  batches = new BatchService(workspace as unknown as Workspace, cases, new Logger('test', 'error'));
});

afterAll(() => {
  cases.close();
  server.close();
  rmSync(root, { recursive: true, force: true });
});

function dispatcher() {
  const d = createValidatedDispatcher(policy);
  // As in src/main/ipc/routes.ts.
  d.handle('lr:batches.saveToCase', ({ id }, { signal }) => batches.saveToCase(id, signal));
  return d;
}

const evidenceNames = () =>
  cases
    .evidence(cases.activeCase().id)
    .map((e) => e.name)
    .sort();
const downloadsLeft = () => readdirSync(path.join(root, 'data', 'downloads'), { recursive: true });

describe('lr:calls.cancel on a batch save to case', () => {
  it('during a download: the HTTPS download stops, its partial file goes, and nothing is stored', async () => {
    const d = dispatcher();
    const running = d.dispatch('lr:batches.saveToCase', { id: BATCH, callId: 'save-0001' }, trusted);
    // Cancel once the slow file's bytes are arriving in the scratch folder.
    await expect
      .poll(() => downloadsLeft().some((f) => String(f).endsWith('b.img.part')), { timeout: 20_000, interval: 5 })
      .toBe(true);
    expect(await d.dispatch('lr:calls.cancel', { callId: 'save-0001' }, trusted)).toEqual({
      ok: true,
      result: { cancelled: true },
    });
    expect(await running).toEqual({
      ok: false,
      error: {
        code: 'handler-failed',
        message: `lr:batches.saveToCase: the save of batch ${BATCH} to the case was cancelled; nothing was stored`,
      },
    });
    await expect.poll(() => bigDownloads).toEqual(['closed early']);
    expect(evidenceNames()).toEqual([]);
    expect(cases.notes(cases.activeCase().id)).toEqual([]);
    expect(downloadsLeft()).toEqual([]);
  });

  it('while storing: it stops before the next item, the results are not stored, and a second save adds only the rest', async () => {
    const d = dispatcher();
    events.length = 0;
    const running = d.dispatch('lr:batches.saveToCase', { id: BATCH, callId: 'save-0002' }, trusted);
    // Cancel as soon as the first item is in the case.
    await expect
      .poll(() => events.some((e) => e.type === 'cases.changed'), { timeout: 20_000, interval: 1 })
      .toBe(true);
    await d.dispatch('lr:calls.cancel', { callId: 'save-0002' }, trusted);
    const outcome = await running;
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error.message).toMatch(
      new RegExp(
        `the save of batch ${BATCH} to the case was cancelled after [12] items; Save to case again adds the rest$`,
      ),
    );
    const partial = evidenceNames();
    expect(partial.length).toBeGreaterThan(0);
    expect(partial).not.toContain(`batch-${BATCH}-results.csv`);
    expect(cases.notes(cases.activeCase().id)).toEqual([]);
    expect(downloadsLeft()).toEqual([]);

    const again = await d.dispatch('lr:batches.saveToCase', { id: BATCH }, trusted);
    expect(again.ok && (again.result as BatchSaved).added).toBe(true);
    expect(evidenceNames()).toEqual(
      [
        `batch-${BATCH}-web01-a.log`,
        `batch-${BATCH}-web02-b.img`,
        `batch-${BATCH}-results.json`,
        `batch-${BATCH}-results.csv`,
      ].sort(),
    );
    expect(cases.notes(cases.activeCase().id)).toHaveLength(1);
    const third = await d.dispatch('lr:batches.saveToCase', { id: BATCH }, trusted);
    expect(third.ok && (third.result as BatchSaved).added).toBe(false);
    expect(evidenceNames()).toHaveLength(4);
  });
});
