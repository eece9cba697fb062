// connections on a planted procfs: tables read in pieces and handed over in chunks give the rows of a
// whole-table parse, each with the owner found through /proc/PID/fd (symlinks `socket:[INODE]`).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  listConnections,
  parseNetTable,
  streamConnections,
} from '../../../src/agent/platform/linux/procfs-connections.js';
import type { ConnectionInfo } from '../../../src/agent/platform/types.js';
import { tempDir } from './helpers.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

/** A tcp table of `n` loopback sockets (inodes 100000 + i), a few addresses repeated as in real tables. */
function tcpTable(n: number): string {
  const lines = [HEADER];
  for (let i = 0; i < n; i++) {
    const local = i % 3 === 0 ? '0100007F' : i % 3 === 1 ? '0A00020F' : '00000000';
    const port = (1024 + i).toString(16).toUpperCase().padStart(4, '0');
    const state = i % 7 === 0 ? '0A' : '01';
    lines.push(
      `${String(i).padStart(4)}: ${local}:${port} 0100007F:1F90 ${state} 00000000:00000000 00:00000000 00000000  1000        0 ${i % 50 === 0 ? 0 : 100000 + i} 1 0000000000000000 20 4 30 10 -1`,
    );
  }
  return lines.join('\n') + '\n';
}

const TCP6 = [
  HEADER,
  '   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7001 1 0000000000000000 100 0 0 10 0',
  '   1: 0000000000000000FFFF00000100007F:01BB 0000000000000000FFFF00000200007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 7002 1 0000000000000000 20 4 30 10 -1',
  '',
].join('\n');

describe('streamConnections', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  function plant(sockets: number): string {
    const t = tempDir('lr-procnet-');
    cleanup = t.cleanup;
    const proc = t.dir;
    mkdirSync(path.join(proc, 'net'));
    writeFileSync(path.join(proc, 'net', 'tcp'), tcpTable(sockets));
    writeFileSync(path.join(proc, 'net', 'tcp6'), TCP6);
    // udp and udp6 missing (e.g. IPv6 or UDP diag off): skipped, as before.
    // pid 40 holds every even socket, pid 7 the inode 100002 too (the lowest pid wins) and a tcp6 one.
    for (const [pid, comm, inodes] of [
      [40, 'holder', Array.from({ length: sockets }, (_, i) => 100000 + i).filter((i) => i % 2 === 0)],
      [7, 'parent', [100002, 7002]],
    ] as const) {
      mkdirSync(path.join(proc, String(pid), 'fd'), { recursive: true });
      writeFileSync(path.join(proc, String(pid), 'comm'), `${comm}\n`);
      symlinkSync('/dev/null', path.join(proc, String(pid), 'fd', '0'));
      inodes.forEach((inode, i) => symlinkSync(`socket:[${inode}]`, path.join(proc, String(pid), 'fd', String(i + 3))));
    }
    return proc;
  }

  it('hands over every row in order, in chunks, with the owner of each socket', async () => {
    const proc = plant(1800);
    const chunks: ConnectionInfo[][] = [];
    await streamConnections(proc, async (rows) => void chunks.push(rows));
    const rows = chunks.flat();
    // The same rows as a whole-table parse, owners filled in.
    const expected = [...parseNetTable('tcp', tcpTable(1800)), ...parseNetTable('tcp6', TCP6)];
    expect(rows.map((r) => ({ ...r, pid: null, processName: null }))).toEqual(expected);
    // In chunks of a few hundred rows (procfs hands out a page per read, this planted file up to 64 KiB).
    expect(chunks.length).toBeGreaterThan(1);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(1200);
    // Owners: even inodes are pid 40's, 100002 is the lower pid 7's, inode 0 has none, odd ones none.
    const byInode = new Map(rows.map((r) => [r.inode, r]));
    expect(byInode.get(100004)).toMatchObject({ pid: 40, processName: 'holder' });
    expect(byInode.get(100002)).toMatchObject({ pid: 7, processName: 'parent' });
    expect(byInode.get(100001)).toMatchObject({ pid: null, processName: null });
    expect(byInode.get(0)).toMatchObject({ pid: null, processName: null });
    expect(byInode.get(7002)).toMatchObject({
      protocol: 'tcp6',
      localAddress: '::ffff:127.0.0.1',
      remoteAddress: '::ffff:127.0.0.2',
      remotePort: 50000,
      pid: 7,
    });
    expect(byInode.get(7001)).toMatchObject({ localAddress: '::1', localPort: 80, state: 'LISTEN', pid: null });
    // Field order as before (records are serialised as they are).
    expect(Object.keys(rows[0]!)).toEqual([
      'protocol',
      'localAddress',
      'localPort',
      'remoteAddress',
      'remotePort',
      'state',
      'inode',
      'uid',
      'pid',
      'processName',
    ]);
    expect(await listConnections(proc)).toEqual(rows);
  });

  it('stops when the job is aborted', async () => {
    const proc = plant(1800);
    const controller = new AbortController();
    let seen = 0;
    const run = streamConnections(
      proc,
      async (rows) => {
        seen += rows.length;
        controller.abort();
        controller.signal.throwIfAborted();
      },
      controller.signal,
    );
    await expect(run).rejects.toThrow();
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(1200);
  });
});
