// Tests issue point 5, analyst side: FileDownload (the real class, real files) accepts only the bytes the
// device described: a byte past the announced size stops the transfer, fewer bytes, an end record of another
// size or another SHA-256 fail in one line, and each mismatch deletes the partial file and its description.
// A partial file longer than the file it claims to be part of is not resumed from.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadMismatchError, FileDownload, WRITE_QUEUE_HIGH_BYTES } from '../../../src/node/file-download.js';
import { readFileSync } from 'node:fs';

const body = Buffer.from('evidence bytes\n'.repeat(100));
const sha = createHash('sha256').update(body).digest('hex');
const MTIME = '2026-01-01T00:00:00.000Z';

describe('FileDownload', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'lr-download-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const begin = (size = body.length) => {
    const dl = new FileDownload(out, 'dev1', '/var/log/x.log');
    expect(dl.onFileRecord({ size, mtime: MTIME, offset: 0 })).toBe('ok');
    return dl;
  };

  it('keeps a file whose size and SHA-256 are the announced ones', () => {
    const dl = begin();
    dl.onData(0, body);
    dl.onEndRecord({ sha256: sha, size: body.length });
    expect(dl.finish()).toEqual({ file: join(out, 'x.log'), sha256: sha, size: body.length });
    expect(readdirSync(out)).toEqual(['x.log']);
  });

  it('stops at a byte past the announced size', () => {
    const dl = begin(body.length - 1);
    expect(() => dl.onData(0, body)).toThrow(DownloadMismatchError);
    expect(() => dl.onData(0, body)).toThrow(
      `size mismatch: the device announced ${body.length - 1} bytes and sent more`,
    );
  });

  it('fails on fewer bytes than announced and deletes the partial file', () => {
    const dl = begin();
    dl.onData(0, body.subarray(0, 100));
    dl.onEndRecord({ sha256: sha, size: body.length });
    expect(() => dl.finish()).toThrow(
      `size mismatch: received 100 bytes, the device announced ${body.length}; the partial file was discarded`,
    );
    expect(readdirSync(out)).toEqual([]);
  });

  it('fails when the end record announces another size than the file record, and deletes the partial file', () => {
    const dl = begin();
    dl.onData(0, body);
    dl.onEndRecord({ sha256: sha, size: body.length + 5 });
    expect(() => dl.finish()).toThrow(
      /^size mismatch: received \d+ bytes, the device announced \d+ then \d+; the partial file was discarded$/,
    );
    expect(readdirSync(out)).toEqual([]);
  });

  it('fails on a SHA-256 mismatch and deletes the partial file', () => {
    const dl = begin();
    const other = Buffer.from(body);
    other[7] = other[7]! ^ 1;
    dl.onData(0, other);
    dl.onEndRecord({ sha256: sha, size: body.length });
    expect(() => dl.finish()).toThrow(
      /^SHA-256 mismatch: the device computed [0-9a-f]{64}, the bytes received hash to [0-9a-f]{64}; the partial file was discarded$/,
    );
    expect(readdirSync(out)).toEqual([]);
  });

  it('does not resume from a partial file longer than the file it describes', () => {
    writeFileSync(join(out, 'x.log.part'), Buffer.concat([body, body]));
    writeFileSync(
      join(out, 'x.log.part.json'),
      JSON.stringify({ deviceId: 'dev1', remotePath: '/var/log/x.log', size: body.length, mtime: MTIME }),
    );
    const dl = new FileDownload(out, 'dev1', '/var/log/x.log');
    expect(dl.resumeOffset).toBe(0);
    expect(existsSync(join(out, 'x.log.part'))).toBe(false);
  });

  // Background writes (queueData, what lr uses): the same checks, the resume point only counts bytes the
  // disk took, and the queue is bounded (the caller is told to stop reading the network).
  describe('queueData (writes in the background)', () => {
    it('hashes and writes in order; finish() after settle() keeps the verified file; a wrong SHA-256 still discards it', async () => {
      const dl = begin();
      expect(dl.queueData(0, body.subarray(0, 700))).toBe(true);
      expect(dl.queueData(700, body.subarray(700))).toBe(true);
      expect(() => dl.finish()).toThrow('settle() first');
      expect(await dl.settle()).toBeNull();
      expect(dl.written).toBe(body.length);
      dl.onEndRecord({ sha256: sha, size: body.length });
      const got = dl.finish();
      expect(readFileSync(got.file)).toEqual(body);

      const bad = begin();
      bad.queueData(0, body);
      await bad.settle();
      bad.onEndRecord({ sha256: '0'.repeat(64), size: body.length });
      expect(() => bad.finish()).toThrow('SHA-256 mismatch');
      expect(existsSync(join(out, 'x.log.part'))).toBe(false);
    });

    it('refuses a frame out of order or past the announced size at once, before it is queued', () => {
      const dl = begin();
      dl.queueData(0, body.subarray(0, 100));
      expect(() => dl.queueData(0, body.subarray(100, 200))).toThrow('transfer out of order: expected byte 100, got 0');
      expect(() => dl.queueData(100, body)).toThrow(DownloadMismatchError);
    });

    it('counts as written (the resume point) only what reached the disk, and a new run resumes from there', async () => {
      const dl = begin();
      dl.queueData(0, body.subarray(0, 500));
      expect(dl.resumeOffset).toBe(0); // queued, not yet on disk
      await dl.settle();
      expect(dl.resumeOffset).toBe(500);
      dl.close();
      const again = new FileDownload(out, 'dev1', '/var/log/x.log');
      expect(again.resumeOffset).toBe(500);
      expect(again.onFileRecord({ size: body.length, mtime: MTIME, offset: 500 })).toBe('ok');
      again.queueData(500, body.subarray(500));
      await again.settle();
      again.onEndRecord({ sha256: sha, size: body.length });
      expect(readFileSync(again.finish().file)).toEqual(body);
    });

    it('says stop above the high-water mark and resolves belowLowWater() once the disk caught up', async () => {
      const chunk = Buffer.alloc(1024 * 1024, 7);
      const frames = WRITE_QUEUE_HIGH_BYTES / chunk.length + 2;
      const dl = begin(frames * chunk.length);
      const answers: boolean[] = [];
      for (let i = 0; i < frames; i++) answers.push(dl.queueData(i * chunk.length, chunk));
      expect(answers.at(-1)).toBe(false);
      expect(answers[0]).toBe(true);
      await dl.belowLowWater();
      expect(await dl.settle()).toBeNull();
      expect(dl.written).toBe(frames * chunk.length);
    });
  });
});
