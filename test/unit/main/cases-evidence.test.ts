// The evidence store (src/main/cases/evidence-store.ts through CasesService): content-addressed, read-only
// blobs with provenance, dedup, integrity re-verification, and range previews — real files in a temp folder.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { previewFile } from '../../../src/main/cases/preview.js';
import type { EvidenceProvenance } from '../../../src/main/cases/recorder.js';
import { CasesService } from '../../../src/main/services/cases.js';
import { createEventHub } from '../../../src/main/services/events.js';
import { renderHex, renderStrings, renderText } from '../../../src/shared/workstation/evidence-preview.js';
import type { LrEvent } from '../../../src/shared/workstation/ipc-contract.js';
import { itNeeds } from '../../needs.js';

let root: string;
let events: LrEvent[];
let service: CasesService;
let n = 0;

const digest = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

function provenance(over: Partial<EvidenceProvenance> = {}): EvidenceProvenance {
  return {
    kind: 'getfile',
    name: 'dropper.bin',
    deviceId: 'dev-1',
    deviceName: 'web01',
    originalPath: '/tmp/dropper.bin',
    commandId: 'cmd-7',
    analyst: 'alice',
    fileTimes: {
      mtime: '2025-01-02T03:04:05.000Z',
      atime: '2025-01-03T00:00:00.000Z',
      ctime: '2025-01-02T03:04:05.000Z',
    },
    ...over,
  };
}

/** A file in the "downloads" folder, as the consoles leave them. */
function download(content: Buffer | string, name = `file-${n++}.bin`): string {
  const file = path.join(root, 'downloads', name);
  writeFileSync(file, content);
  return file;
}

function blobPath(sha256: string): string {
  return path.join(root, 'cases', 'evidence', sha256.slice(0, 2), sha256);
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lr-cases-evidence-'));
  mkdirSync(path.join(root, 'downloads'));
  events = [];
  const hub = createEventHub();
  hub.subscribe((e) => events.push(e));
  service = new CasesService({ dir: path.join(root, 'cases'), events: hub });
});

afterEach(() => {
  service.close();
  rmSync(root, { recursive: true, force: true });
});

describe('addEvidence', () => {
  it('stores the file under its SHA-256, read-only, with node:crypto hashes and its provenance, in an auto-created case', async () => {
    const content = Buffer.concat([Buffer.from('MZ\x90\x00'), Buffer.alloc(300_000, 7), Buffer.from('tail')]);
    const file = download(content);
    const item = await service.addEvidence(
      file,
      provenance({ expectedSha256: digest('sha256', content).toUpperCase() }),
    );
    expect(item).toMatchObject({
      sha256: digest('sha256', content),
      sha1: digest('sha1', content),
      md5: digest('md5', content),
      size: content.length,
      name: 'dropper.bin',
      kind: 'getfile',
      deviceId: 'dev-1',
      deviceName: 'web01',
      originalPath: '/tmp/dropper.bin',
      commandId: 'cmd-7',
      analyst: 'alice',
      fileTimes: {
        mtime: '2025-01-02T03:04:05.000Z',
        atime: '2025-01-03T00:00:00.000Z',
        ctime: '2025-01-02T03:04:05.000Z',
        btime: undefined,
      },
      integrity: 'ok',
    });
    expect(existsSync(file)).toBe(false);
    const blob = blobPath(item.sha256);
    expect(readFileSync(blob).equals(content)).toBe(true);
    expect(statSync(blob).mode & 0o777).toBe(0o444);
    const [kase] = service.list();
    expect(kase).toMatchObject({ id: item.caseId, active: true, counts: { evidence: 1 } });
    expect(kase!.title).toMatch(/^Untitled case /);
    // The console names the case the item went to.
    const { caseTitle, ...stored } = item;
    expect(caseTitle).toBe(kase!.title);
    expect(service.evidenceItem(item.id)).toEqual(stored);
    expect(service.evidence(item.caseId)).toEqual([stored]);
    expect(events).toContainEqual({ type: 'cases.changed', caseId: item.caseId });
  });

  it('stores the same bytes once, indexed by each case that acquired them', async () => {
    const content = Buffer.from('same bytes, twice');
    const a = service.create('A');
    const first = await service.addEvidence(download(content), provenance());
    const b = service.create('B');
    const second = await service.addEvidence(
      download(content),
      provenance({ name: 'copy.bin', originalPath: '/srv/copy.bin' }),
    );
    expect([first.caseId, second.caseId]).toEqual([a.id, b.id]);
    expect(second.sha256).toBe(first.sha256);
    expect(second.id).not.toBe(first.id);
    expect(second).toMatchObject({ name: 'copy.bin', originalPath: '/srv/copy.bin' });
    const dir = path.dirname(blobPath(first.sha256));
    expect(readdirSync(dir)).toEqual([first.sha256]);
    expect(readdirSync(path.join(root, 'downloads'))).toEqual([]);
  });

  it('refuses a file whose hash differs from the one the transfer verified, and leaves it where it was', async () => {
    const file = download('not what was announced');
    const before = statSync(file).mode;
    await expect(service.addEvidence(file, provenance({ expectedSha256: 'a'.repeat(64) }))).rejects.toThrow(
      /^evidence refused: .* hashes to [0-9a-f]{64}, the transfer verified a{64}; the file is left at /,
    );
    expect(readFileSync(file, 'utf8')).toBe('not what was announced');
    expect(statSync(file).mode).toBe(before);
    expect(service.list()).toEqual([]);
  });

  const shm = '/dev/shm';
  const noSecondFileSystem = () =>
    !existsSync(shm) || statSync(shm).dev === statSync(tmpdir()).dev
      ? `needs ${shm} on another file system than ${tmpdir()}, to copy across`
      : null;
  itNeeds(noSecondFileSystem())(
    'copies across file systems when it cannot link (and still removes the source)',
    async () => {
      const dir = mkdtempSync(path.join(shm, 'lr-cases-xdev-'));
      try {
        const file = path.join(dir, 'saved.txt');
        writeFileSync(file, 'listing from another file system\n');
        const item = await service.addEvidence(
          file,
          provenance({ kind: 'output', name: 'saved.txt', originalPath: '' }),
        );
        expect(existsSync(file)).toBe(false);
        expect(readFileSync(blobPath(item.sha256), 'utf8')).toBe('listing from another file system\n');
        expect(statSync(blobPath(item.sha256)).mode & 0o777).toBe(0o444);
        expect(readdirSync(path.join(root, 'cases', 'tmp'))).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('refuses what is not a regular file', async () => {
    await expect(service.addEvidence(path.join(root, 'downloads'), provenance())).rejects.toThrow(/not a regular file/);
    await expect(service.addEvidence(path.join(root, 'nope'), provenance())).rejects.toThrow(/no such file/);
  });
});

describe('verify', () => {
  it('says ok, then tampered after one byte changes, then missing; a fresh copy repairs it', async () => {
    const content = Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a);
    const item = await service.addEvidence(download(content), provenance());
    events.length = 0;
    const ok = await service.verify(item.id);
    expect(ok.integrity).toBe('ok');
    expect(ok.verifiedAt).toBeDefined();
    const progress = events.filter(
      (e): e is Extract<LrEvent, { type: 'cases.progress' }> => e.type === 'cases.progress',
    );
    expect(progress.at(-1)!.progress).toEqual({
      task: 'verify',
      id: item.id,
      done: content.length,
      total: content.length,
    });

    const blob = blobPath(item.sha256);
    chmodSync(blob, 0o644);
    const fd = openSync(blob, 'r+');
    writeSync(fd, Buffer.from([0x00]), 0, 1, 1_000_000);
    closeSync(fd);
    expect((await service.verify(item.id)).integrity).toBe('tampered');

    rmSync(blob);
    expect((await service.verify(item.id)).integrity).toBe('missing');
    await expect(service.preview(item.id, 'hex')).rejects.toThrow(/the stored file is missing/);

    // The same bytes acquired again restore the blob, and the item is whole again.
    await service.addEvidence(download(content), provenance());
    expect((await service.verify(item.id)).integrity).toBe('ok');
  });

  it('replaces a blob known to be tampered when the same file is acquired again', async () => {
    const content = Buffer.from('original content of the evidence file');
    const item = await service.addEvidence(download(content), provenance());
    const blob = blobPath(item.sha256);
    chmodSync(blob, 0o644);
    writeFileSync(blob, Buffer.from('ORIGINAL content of the evidence file'));
    expect((await service.verify(item.id)).integrity).toBe('tampered');
    await service.addEvidence(download(content), provenance());
    expect(readFileSync(blob).equals(content)).toBe(true);
    expect((await service.verify(item.id)).integrity).toBe('ok');
  });
});

describe('previews', () => {
  it('renders text, hex and strings of a small stored file', async () => {
    const content = Buffer.concat([
      Buffer.from('line one\r\nline\ttwo \u001b[31mred\u001b[0m\n'),
      Buffer.from([0, 1, 2, 3]),
      Buffer.from('ASCIIRUN'),
      Buffer.from([1]),
      Buffer.from('w\0i\0d\0e\0!\0'),
      Buffer.from([0xff]),
    ]);
    const item = await service.addEvidence(download(content), provenance());
    const text = await service.preview(item.id, 'text', 0, 4096);
    expect(text).toMatchObject({
      mode: 'text',
      offset: 0,
      length: content.length,
      size: content.length,
      nextOffset: undefined,
    });
    expect(text.lines[0]).toBe('line one');
    expect(text.lines[1]).toBe('line\ttwo \\x1b[31mred\\x1b[0m');
    expect(text.lines.join('\n')).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    const hex = await service.preview(item.id, 'hex', 0, 32);
    expect(hex.lines).toEqual([
      '00000000  6c 69 6e 65 20 6f 6e 65  0d 0a 6c 69 6e 65 09 74  |line one..line.t|',
      '00000010  77 6f 20 1b 5b 33 31 6d  72 65 64 1b 5b 30 6d 0a  |wo .[31mred.[0m.|',
    ]);
    expect(hex.nextOffset).toBe(32);
    const strings = await service.preview(item.id, 'strings', 0, 4096);
    expect(strings.lines).toContain(`${content.indexOf('ASCIIRUN').toString(16).padStart(8, '0')}  ASCIIRUN`);
    expect(strings.lines).toContain(`${content.indexOf('w\0i').toString(16).padStart(8, '0')}  (UTF-16LE) wide!`);
    expect(strings.lines[0]).toBe('00000000  line one');
  });

  it('pages with nextOffset without cutting lines or characters', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `entry ${i} — é ü 中文`);
    const content = Buffer.from(lines.join('\n') + '\n');
    const item = await service.addEvidence(download(content), provenance());
    const seen: string[] = [];
    let offset: number | undefined = 0;
    let pages = 0;
    while (offset !== undefined) {
      const page = await service.preview(item.id, 'text', offset, 1000);
      expect(page.length).toBeLessThanOrEqual(1000);
      seen.push(...page.lines);
      offset = page.nextOffset;
      pages++;
    }
    expect(pages).toBeGreaterThan(5);
    expect(seen).toEqual(lines);
    // Hex pages tile the file exactly.
    let hexBytes = 0;
    for (let at: number | undefined = 0; at !== undefined;) {
      const page = await service.preview(item.id, 'hex', at, 4096);
      hexBytes += page.length;
      at = page.nextOffset;
    }
    expect(hexBytes).toBe(content.length);
  });

  it('previews a sparse 3 GB file at any offset in well under a second', async () => {
    const file = path.join(root, 'sparse.img');
    const fd = openSync(file, 'w');
    const size = 3 * 1024 * 1024 * 1024;
    const marker = Buffer.from('needle in a 3 GB haystack\n');
    writeSync(fd, marker, 0, marker.length, size - 4096);
    writeSync(fd, Buffer.from([0]), 0, 1, size - 1);
    closeSync(fd);
    const started = performance.now();
    const hex = await previewFile(file, 'hex', size - 4096, 64);
    const text = await previewFile(file, 'text', size - 4096, 4096);
    const strings = await previewFile(file, 'strings', size - 8192, 65536);
    const head = await previewFile(file, 'hex', 0, 65536);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(500);
    expect(hex.size).toBe(size);
    expect(hex.lines[0]).toMatch(/^bffff000 {2}6e 65 65 64/);
    expect(text.lines[0]).toBe('needle in a 3 GB haystack');
    expect(text.nextOffset).toBeUndefined();
    expect(strings.lines).toEqual(['bffff000  needle in a 3 GB haystack']);
    expect(head.nextOffset).toBe(65536);
    expect(head.lines).toHaveLength(4096);
  });
});

describe('preview rendering', () => {
  it('never cuts a UTF-8 character between pages', () => {
    const bytes = Buffer.from('aé中😀');
    for (let cut = 1; cut < bytes.length; cut++) {
      const first = renderText(bytes.subarray(0, cut), false);
      const rest = renderText(bytes.subarray(first.consumed), true);
      expect((first.lines.join('') + rest.lines.join('')).replace(/\uFFFD/g, '?')).toBe('aé中😀');
    }
  });

  it('hex-dumps a partial last line and offsets past 4 GiB', () => {
    expect(renderHex(Buffer.from('AB'), 0x1_0000_0010).lines).toEqual([`100000010  41 42${' '.repeat(45)}|AB|`]);
  });

  it('defers a string run cut by the end of the range to the next page', () => {
    const bytes = Buffer.concat([Buffer.from('first run'), Buffer.from([1, 2]), Buffer.from('second ru')]);
    const page = renderStrings(bytes, 100, false);
    expect(page.lines).toEqual([`${(100).toString(16).padStart(8, '0')}  first run`]);
    expect(page.consumed).toBe(11);
    expect(renderStrings(bytes, 100, true).lines).toHaveLength(2);
  });
});
