// A case holding evidence past 4 GiB exports as zip64 and imports verified (issue #7). It moves ~13 GB
// through the disk (the export, the import's staging and store), ~3 minutes on a 2-core machine, so it
// runs only with LR_BIG_TESTS=1.
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CasesService } from '../../src/main/services/cases.js';
import { createEventHub } from '../../src/main/services/events.js';

const BIG = process.env.LR_BIG_TESTS === '1';
if (!BIG) console.warn('cases-zip64.test.ts skipped: set LR_BIG_TESTS=1 (writes ~13 GB to the temp folder)');

const root = mkdtempSync(path.join(tmpdir(), 'lr-cases-zip64-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('zip64 case export', () => {
  it.skipIf(!BIG)('exports and imports a 4.3 GB evidence file, verified', async () => {
    mkdirSync(path.join(root, 'downloads'));
    const file = path.join(root, 'downloads', 'disk.img');
    const size = 4 * 1024 ** 3 + 300 * 1024 ** 2;
    const fd = openSync(file, 'w');
    // Sparse with markers at both ends, so the bytes past 4 GiB are checked too.
    writeSync(fd, Buffer.from('START OF IMAGE'), 0, 14, 0);
    writeSync(fd, Buffer.from('END OF IMAGE'), 0, 12, size - 12);
    closeSync(fd);
    const source = new CasesService({ dir: path.join(root, 'a', 'cases'), events: createEventHub() });
    const item = await source.addEvidence(file, { kind: 'getfile', name: 'disk.img', deviceId: 'd', deviceName: 'web01', originalPath: '/dev/sda', analyst: 'alice', fileTimes: {} });
    expect(item.size).toBe(size);
    const exported = await source.export(item.caseId);
    expect(statSync(exported.path).size).toBeGreaterThan(size);
    source.close();
    rmSync(path.join(root, 'a', 'cases', 'evidence'), { recursive: true, force: true });

    const target = new CasesService({ dir: path.join(root, 'b', 'cases'), events: createEventHub() });
    const result = await target.importFile(exported.path);
    expect(result).toMatchObject({ ok: true, problems: [] });
    const [imported] = target.evidence(result.caseId!);
    expect(imported).toMatchObject({ sha256: item.sha256, sha1: item.sha1, md5: item.md5, size });
    const tail = await target.preview(imported!.id, 'text', size - 12, 12);
    expect(tail.lines).toEqual(['END OF IMAGE']);
    expect(readdirSync(path.join(root, 'b', 'cases', 'tmp'))).toEqual([]);
    target.close();
  }, 20 * 60_000);
});
