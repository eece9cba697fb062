import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { ZipWriter } from '../../../src/agent/zip-writer.js';

/** Log-like text: compressible but not trivially (a deflate of it takes real time). */
function logText(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  let x = 12345;
  while (size < bytes) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const line = `Dec  5 06:${String(x % 60).padStart(2, '0')}:00 host sshd[${x % 65536}]: session ${x.toString(36)} opened for user u${x % 97}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

describe('ZipWriter', () => {
  it('adds a 48 MiB member without holding the event loop, and writes it correctly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zipw-'));
    try {
      const data = logText(48 * 1024 * 1024);
      const handle = await open(join(dir, 'p.zip'), 'w');
      const zip = new ZipWriter(handle);
      let last = performance.now();
      let longest = 0;
      const ticker = setInterval(() => {
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
      }, 5);
      try {
        await zip.add('big.log', data);
        await zip.finish();
      } finally {
        clearInterval(ticker);
        await handle.close();
      }
      console.log(`longest event-loop stall while adding 48 MiB: ${longest.toFixed(0)} ms`);
      expect(longest).toBeLessThan(250);
      const file = readFileSync(join(dir, 'p.zip'));
      expect(file.readUInt32LE(0)).toBe(0x04034b50);
      expect(file.readUInt32LE(14)).toBe(crc32(data));
      const csize = file.readUInt32LE(18);
      const body = file.subarray(30 + file.readUInt16LE(26), 30 + file.readUInt16LE(26) + csize);
      expect(inflateRawSync(body).equals(data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
