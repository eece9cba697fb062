/**
 * A small zip writer (no dependency): members are deflated (or stored when that is not smaller) with
 * node:zlib, UTF-8 names, Unix modes. No zip64: an archive stays under 4 GiB (the caller bounds what it
 * adds). Written sequentially to a file handle. A member may be tens of MiB (collect's log tails): it is
 * deflated on libuv's thread pool and its CRC-32 computed natively, so the agent's event loop (other jobs,
 * cancel, the link's heartbeats) is never held for the seconds a synchronous deflate takes.
 */
import { promisify } from 'node:util';
import { crc32, deflateRaw } from 'node:zlib';
import type { FileHandle } from 'node:fs/promises';

const deflateRawAsync = promisify(deflateRaw);

function dosTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, d.getFullYear());
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

interface Central {
  name: Buffer;
  method: number;
  crc: number;
  csize: number;
  usize: number;
  offset: number;
  mode: number;
  time: number;
  date: number;
}

export const MAX_ZIP_BYTES = 0xffffffff - 64 * 1024 * 1024;

export class ZipWriter {
  private offset = 0;
  private readonly central: Central[] = [];

  constructor(private readonly handle: FileHandle) {}

  get size(): number {
    return this.offset;
  }

  private async write(buf: Buffer): Promise<void> {
    let done = 0;
    while (done < buf.length)
      done += (await this.handle.write(buf, done, buf.length - done, this.offset + done)).bytesWritten;
    this.offset += buf.length;
  }

  async add(name: string, data: Buffer, opts: { mode?: number; mtime?: Date } = {}): Promise<void> {
    const deflated = await deflateRawAsync(data);
    const method = deflated.length < data.length ? 8 : 0;
    const body = method === 8 ? deflated : data;
    if (this.offset + body.length + 1024 > MAX_ZIP_BYTES) throw new Error('the package would exceed 4 GiB');
    const nameBuf = Buffer.from(name, 'utf8');
    const { time, date } = dosTime(opts.mtime ?? new Date());
    const crc = crc32(data);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(0x0800, 6);
    h.writeUInt16LE(method, 8);
    h.writeUInt16LE(time, 10);
    h.writeUInt16LE(date, 12);
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(body.length, 18);
    h.writeUInt32LE(data.length, 22);
    h.writeUInt16LE(nameBuf.length, 26);
    h.writeUInt16LE(0, 28);
    this.central.push({
      name: nameBuf,
      method,
      crc,
      csize: body.length,
      usize: data.length,
      offset: this.offset,
      mode: opts.mode ?? 0o100644,
      time,
      date,
    });
    await this.write(Buffer.concat([h, nameBuf]));
    await this.write(body);
  }

  async finish(): Promise<number> {
    const start = this.offset;
    for (const c of this.central) {
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, zip 2.0
      h.writeUInt16LE(20, 6);
      h.writeUInt16LE(0x0800, 8);
      h.writeUInt16LE(c.method, 10);
      h.writeUInt16LE(c.time, 12);
      h.writeUInt16LE(c.date, 14);
      h.writeUInt32LE(c.crc, 16);
      h.writeUInt32LE(c.csize, 20);
      h.writeUInt32LE(c.usize, 24);
      h.writeUInt16LE(c.name.length, 28);
      h.writeUInt32LE((c.mode << 16) >>> 0, 38);
      h.writeUInt32LE(c.offset, 42);
      await this.write(Buffer.concat([h, c.name]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.central.length, 8);
    end.writeUInt16LE(this.central.length, 10);
    end.writeUInt32LE(this.offset - start, 12);
    end.writeUInt32LE(start, 16);
    await this.write(end);
    return this.offset;
  }
}
