/**
 * TCP and UDP sockets (IPv4 and IPv6) from /proc/net/{tcp,tcp6,udp,udp6}, attributed to processes
 * through their socket inodes. These tables show the agent's own network namespace.
 */
import path from 'node:path';
import { isGone } from '../../fs/fs-errors.js';
import type { ConnectionInfo } from '../types.js';
import { decodeEndpoint } from './net-address.js';
import { readProcFile } from './procfs-read.js';
import { socketOwners } from './socket-owners.js';

/** include/net/tcp_states.h */
const TCP_STATES: Readonly<Record<number, string>> = {
  0x01: 'ESTABLISHED', 0x02: 'SYN_SENT', 0x03: 'SYN_RECV', 0x04: 'FIN_WAIT1', 0x05: 'FIN_WAIT2',
  0x06: 'TIME_WAIT', 0x07: 'CLOSE', 0x08: 'CLOSE_WAIT', 0x09: 'LAST_ACK', 0x0a: 'LISTEN',
  0x0b: 'CLOSING', 0x0c: 'NEW_SYN_RECV',
};

const PROTOCOLS = ['tcp', 'tcp6', 'udp', 'udp6'] as const;
type Protocol = (typeof PROTOCOLS)[number];

function stateName(protocol: Protocol, code: number): string {
  if (protocol.startsWith('udp')) {
    // UDP reuses the TCP codes: connected sockets are ESTABLISHED, the rest CLOSE, which ss calls UNCONN.
    return code === 0x01 ? 'ESTABLISHED' : 'UNCONN';
  }
  return TCP_STATES[code] ?? `UNKNOWN(${code})`;
}

type SocketRow = Omit<ConnectionInfo, 'pid' | 'processName'>;

/** Parses one /proc/net table (the header line is skipped). */
export function parseNetTable(protocol: Protocol, text: string): SocketRow[] {
  const rows: SocketRow[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = (lines[i] as string).trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = decodeEndpoint(f[1] as string);
    const remote = decodeEndpoint(f[2] as string);
    rows.push({
      protocol,
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      state: stateName(protocol, parseInt(f[3] as string, 16)),
      inode: Number(f[9]),
      uid: Number(f[7]),
    });
  }
  return rows;
}

export async function listConnections(procRoot: string, signal?: AbortSignal): Promise<ConnectionInfo[]> {
  const rows: SocketRow[] = [];
  for (const protocol of PROTOCOLS) {
    let text: string;
    try {
      text = readProcFile(path.join(procRoot, 'net', protocol));
    } catch (err) {
      if (isGone(err)) continue; // e.g. IPv6 disabled
      throw err;
    }
    rows.push(...parseNetTable(protocol, text));
  }
  // inode 0: sockets no longer attached to a file (TIME_WAIT): nobody owns them.
  const owners = await socketOwners(procRoot, new Set(rows.map((r) => r.inode).filter((i) => i !== 0)), signal);
  return rows.map((r) => {
    const owner = owners.get(r.inode);
    return { ...r, pid: owner?.pid ?? null, processName: owner?.processName ?? null };
  });
}
