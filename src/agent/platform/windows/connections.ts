/**
 * Windows connections: the TCP and UDP sockets, IPv4 and IPv6, from IP Helper's owner tables, each with the
 * pid Windows records as its owner and that process's name from one Toolhelp snapshot taken first (a pid
 * that has exited since has no name: null, rather than the name of a later process).
 */
import { NotSupportedError, type ConnectionInfo } from '../types.js';
import { tableBatches, type Protocol } from './connections-table.js';
import { readSocketTable } from './iphlpapi.js';
import { processSnapshot } from './toolhelp.js';

const PROTOCOLS: readonly Protocol[] = ['tcp', 'tcp6', 'udp', 'udp6'];

/** Rows handed to the sink at a time. */
const CHUNK_ROWS = 500;

export async function streamConnections(
  sink: (rows: ConnectionInfo[]) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  if (process.platform !== 'win32') throw new NotSupportedError('connections');
  const names = new Map<number, string>();
  for (const p of processSnapshot()) names.set(p.pid, p.name);
  const owner = (pid: number) => names.get(pid) ?? null;
  for (const protocol of PROTOCOLS) {
    signal?.throwIfAborted();
    const { buf, length } = readSocketTable(protocol);
    for (const rows of tableBatches(protocol, buf, length, owner, CHUNK_ROWS)) {
      signal?.throwIfAborted();
      await sink(rows);
    }
  }
  signal?.throwIfAborted();
}

export async function listConnections(signal?: AbortSignal): Promise<ConnectionInfo[]> {
  const all: ConnectionInfo[] = [];
  await streamConnections(async (rows) => {
    all.push(...rows);
  }, signal);
  return all;
}
