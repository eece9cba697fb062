/**
 * A long IPC call cancelled from the renderer's side: `lr:cases.export` started with a callId, then
 * `lr:calls.cancel` with that id, through the validated dispatcher both transports use. A real case store
 * and a real zip on disk: the export stops and leaves nothing in exports/ (no zip, no `.part`).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidatedDispatcher } from '../../../src/main/ipc/validated.js';
import { CasesService } from '../../../src/main/services/cases.js';
import { createEventHub } from '../../../src/main/services/events.js';
import type { LrEvent } from '../../../src/shared/workstation/ipc-contract.js';

const trusted = { trusted: true };
const policy = { isTrusted: (sender: { trusted: boolean }) => sender.trusted };
let root: string;
let cases: CasesService;
let caseId: string;
const events: LrEvent[] = [];

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'lr-ipc-cancel-'));
  const hub = createEventHub();
  hub.subscribe((e) => events.push(e));
  cases = new CasesService({ dir: path.join(root, 'cases'), exportsDir: path.join(root, 'exports'), events: hub });
  caseId = cases.create('Cancelled export').id;
  mkdirSync(path.join(root, 'downloads'));
  const file = path.join(root, 'downloads', 'disk.img');
  writeFileSync(file, randomBytes(48 * 1024 * 1024));
  await cases.addEvidence(file, {
    kind: 'getfile',
    name: 'disk.img',
    deviceId: 'dev-1',
    deviceName: 'web01',
    originalPath: '/dev/sda1',
    commandId: 'cmd-1',
    analyst: 'alice',
    fileTimes: {},
  });
});

afterAll(() => {
  cases.close();
  rmSync(root, { recursive: true, force: true });
});

function dispatcher() {
  const d = createValidatedDispatcher(policy);
  // As in src/main/ipc/routes.ts.
  d.handle('lr:cases.export', ({ id }, { signal }) => cases.export(id, signal));
  return d;
}

function exportsDir(): string[] {
  try {
    return readdirSync(path.join(root, 'exports'));
  } catch {
    return [];
  }
}

describe('lr:calls.cancel', () => {
  it('stops a running case export; nothing is left in exports/', async () => {
    const d = dispatcher();
    events.length = 0;
    const running = d.dispatch('lr:cases.export', { id: caseId, callId: 'export-0001' }, trusted);
    // Cancel once the zip is being written (the first progress report).
    await expect
      .poll(
        () => events.some((e) => e.type === 'cases.progress' && e.progress.task === 'export' && e.progress.done > 0),
        { timeout: 20_000, interval: 5 },
      )
      .toBe(true);
    expect(await d.dispatch('lr:calls.cancel', { callId: 'export-0001' }, trusted)).toEqual({
      ok: true,
      result: { cancelled: true },
    });
    const outcome = await running;
    expect(outcome).toEqual({
      ok: false,
      error: {
        code: 'handler-failed',
        message: `lr:cases.export: the export of case ${caseId} was cancelled; nothing was written`,
      },
    });
    expect(exportsDir()).toEqual([]);
  });

  it('answers false for a call that is not running, and an export without a cancel completes', async () => {
    const d = dispatcher();
    expect(await d.dispatch('lr:calls.cancel', { callId: 'export-0002' }, trusted)).toEqual({
      ok: true,
      result: { cancelled: false },
    });
    const outcome = await d.dispatch('lr:cases.export', { id: caseId, callId: 'export-0002' }, trusted);
    expect(outcome.ok).toBe(true);
    expect(exportsDir()).toHaveLength(1);
    expect(exportsDir()[0]).toMatch(/\.zip$/);
    // Its id is free again once it ended.
    expect(await d.dispatch('lr:calls.cancel', { callId: 'export-0002' }, trusted)).toEqual({
      ok: true,
      result: { cancelled: false },
    });
  });
});
