/**
 * Which process holds which socket: every /proc/PID/fd/N of a socket is a symlink `socket:[INODE]`.
 * Scanning all fds is the only way procfs offers (it is what ss -p and lsof do). Unreadable fd folders
 * (other users' processes when not root) are skipped; their sockets show no pid.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listPids, readProcFile, slices } from './procfs-read.js';

export interface SocketOwner {
  pid: number;
  processName: string;
}

const SOCKET_PREFIX = 'socket:[';

/**
 * Maps socket inode -> owning process. A socket shared by several processes (inherited over fork) is
 * attributed to the lowest pid, usually the parent that opened it. Only inodes in `wanted` are kept.
 */
export async function socketOwners(procRoot: string, wanted: ReadonlySet<number>, signal?: AbortSignal): Promise<Map<number, SocketOwner>> {
  const owners = new Map<number, SocketOwner>();
  if (wanted.size === 0) return owners;
  await slices(listPids(procRoot), 50, signal, (pid) => {
    const fdDir = path.join(procRoot, String(pid), 'fd');
    let fds: string[];
    try {
      fds = fs.readdirSync(fdDir);
    } catch {
      return; // gone, or not ours to read
    }
    let name: string | null = null;
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(path.join(fdDir, fd));
      } catch {
        continue; // fd closed meanwhile
      }
      if (!target.startsWith(SOCKET_PREFIX)) continue;
      const inode = Number(target.slice(SOCKET_PREFIX.length, -1));
      if (!wanted.has(inode) || owners.has(inode)) continue;
      if (name === null) name = readComm(procRoot, pid);
      owners.set(inode, { pid, processName: name });
    }
  });
  return owners;
}

function readComm(procRoot: string, pid: number): string {
  try {
    return readProcFile(path.join(procRoot, String(pid), 'comm'), 'utf8').replace(/\n$/, '');
  } catch {
    return '';
  }
}
