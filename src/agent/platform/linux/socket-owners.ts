/**
 * Which process holds which socket: every /proc/PID/fd/N of a socket is a symlink `socket:[INODE]`.
 * Scanning all fds is the only way procfs offers (it is what ss -p and lsof do). Unreadable fd folders
 * (other users' processes when not root) are skipped; their sockets show no pid.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listPids, readProcRecord, slices } from './procfs-read.js';

export interface SocketOwner {
  pid: number;
  processName: string;
}

const SOCKET_PREFIX = 'socket:[';

/**
 * Maps socket inode -> owning process. A socket shared by several processes (inherited over fork) is
 * attributed to the lowest pid, usually the parent that opened it. Only inodes in `wanted` are kept
 * (null: every socket). The sockets of one process share one SocketOwner object.
 */
export async function socketOwners(
  procRoot: string,
  wanted: ReadonlySet<number> | null,
  signal?: AbortSignal,
): Promise<Map<number, SocketOwner>> {
  const owners = new Map<number, SocketOwner>();
  if (wanted?.size === 0) return owners;
  await slices(listPids(procRoot), 50, signal, (pid) => {
    const fdDir = path.join(procRoot, String(pid), 'fd');
    let fds: string[];
    try {
      fds = fs.readdirSync(fdDir);
    } catch {
      return; // gone, or not ours to read
    }
    // One readlink per fd: the hot loop with thousands of sockets, so no path.join and no object per socket.
    const prefix = `${fdDir}/`;
    let owner: SocketOwner | null = null;
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(prefix + fd);
      } catch {
        continue; // fd closed meanwhile
      }
      if (!target.startsWith(SOCKET_PREFIX)) continue;
      const inode = Number(target.slice(SOCKET_PREFIX.length, -1));
      if ((wanted && !wanted.has(inode)) || owners.has(inode)) continue;
      if (owner === null) owner = { pid, processName: readComm(procRoot, pid) };
      owners.set(inode, owner);
    }
  });
  return owners;
}

function readComm(procRoot: string, pid: number): string {
  try {
    return readProcRecord(path.join(procRoot, String(pid), 'comm'), 'utf8').replace(/\n$/, '');
  } catch {
    return '';
  }
}
