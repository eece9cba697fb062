// Tests issue point 5, analyst side: FileDownload (the real class, real files) accepts only the bytes the
// device described: a byte past the announced size stops the transfer, fewer bytes, an end record of another
// size or another SHA-256 fail in one line, and each mismatch deletes the partial file and its description.
// A partial file longer than the file it claims to be part of is not resumed from.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadMismatchError, FileDownload } from '../../../src/node/file-download.js';

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
    expect(() => dl.onData(0, body)).toThrow(`size mismatch: the device announced ${body.length - 1} bytes and sent more`);
  });

  it('fails on fewer bytes than announced and deletes the partial file', () => {
    const dl = begin();
    dl.onData(0, body.subarray(0, 100));
    dl.onEndRecord({ sha256: sha, size: body.length });
    expect(() => dl.finish()).toThrow(`size mismatch: received 100 bytes, the device announced ${body.length}; the partial file was discarded`);
    expect(readdirSync(out)).toEqual([]);
  });

  it('fails when the end record announces another size than the file record, and deletes the partial file', () => {
    const dl = begin();
    dl.onData(0, body);
    dl.onEndRecord({ sha256: sha, size: body.length + 5 });
    expect(() => dl.finish()).toThrow(/^size mismatch: received \d+ bytes, the device announced \d+ then \d+; the partial file was discarded$/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('fails on a SHA-256 mismatch and deletes the partial file', () => {
    const dl = begin();
    const other = Buffer.from(body);
    other[7] = other[7]! ^ 1;
    dl.onData(0, other);
    dl.onEndRecord({ sha256: sha, size: body.length });
    expect(() => dl.finish()).toThrow(/^SHA-256 mismatch: the device computed [0-9a-f]{64}, the bytes received hash to [0-9a-f]{64}; the partial file was discarded$/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('does not resume from a partial file longer than the file it describes', () => {
    writeFileSync(join(out, 'x.log.part'), Buffer.concat([body, body]));
    writeFileSync(join(out, 'x.log.part.json'), JSON.stringify({ deviceId: 'dev1', remotePath: '/var/log/x.log', size: body.length, mtime: MTIME }));
    const dl = new FileDownload(out, 'dev1', '/var/log/x.log');
    expect(dl.resumeOffset).toBe(0);
    expect(existsSync(join(out, 'x.log.part'))).toBe(false);
  });
});
