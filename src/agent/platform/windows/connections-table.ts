/**
 * Decoding of the tables IP Helper fills in (GetExtendedTcpTable with TCP_TABLE_OWNER_PID_ALL,
 * GetExtendedUdpTable with UDP_TABLE_OWNER_PID), pure so that it is tested on any OS. Each table is a
 * DWORD count followed by fixed-size rows of DWORDs: addresses in network byte order (IPv4 as the four
 * bytes of a DWORD, IPv6 as 16 bytes), ports in the low 16 bits of a DWORD, also in network order.
 * Records have the Linux layer's shape: addresses as it prints them, states as ss names them.
 */
import { formatIpv6 } from '../linux/net-address.js';
import type { ConnectionInfo } from '../types.js';

export type Protocol = ConnectionInfo['protocol'];

/** MIB_TCP_STATE (1 CLOSED ... 12 DELETE_TCB), named as Linux names the same TCP states. */
const TCP_STATES: Readonly<Record<number, string>> = {
  1: 'CLOSE',
  2: 'LISTEN',
  3: 'SYN_SENT',
  4: 'SYN_RECV',
  5: 'ESTABLISHED',
  6: 'FIN_WAIT1',
  7: 'FIN_WAIT2',
  8: 'CLOSE_WAIT',
  9: 'CLOSING',
  10: 'LAST_ACK',
  11: 'TIME_WAIT',
  12: 'DELETE_TCB',
};

export function tcpStateName(code: number): string {
  return TCP_STATES[code] ?? `UNKNOWN(${code})`;
}

/** Row sizes (bytes) of MIB_TCPROW_OWNER_PID, MIB_TCP6ROW_OWNER_PID, MIB_UDPROW_OWNER_PID, MIB_UDP6ROW_OWNER_PID. */
export const ROW_BYTES: Readonly<Record<Protocol, number>> = { tcp: 24, tcp6: 56, udp: 12, udp6: 28 };

/** The owner of a socket: its pid and that process's name in the snapshot, when it has one. */
export type OwnerName = (pid: number) => string | null;

function ipv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

function ipv6(buf: Buffer, offset: number): string {
  return formatIpv6(buf.subarray(offset, offset + 16));
}

/** The port in the low 16 bits of a DWORD, in network order: its first two bytes, big-endian. */
function port(buf: Buffer, offset: number): number {
  return buf.readUInt16BE(offset);
}

/** Number of rows a table says it holds, bounded by the bytes Windows wrote (a table is never trusted past its end). */
export function tableRowCount(protocol: Protocol, buf: Buffer, length = buf.length): number {
  if (length < 4) return 0;
  return Math.min(buf.readUInt32LE(0), Math.floor((length - 4) / ROW_BYTES[protocol]));
}

/**
 * Rows [from, to) of one table as records. Pid 0 is the System Idle Process, which Windows gives for
 * sockets nobody holds any longer (TIME_WAIT) and Wine for sockets it cannot attribute: null, as Linux
 * says of a socket without an owner.
 */
export function decodeTableRows(
  protocol: Protocol,
  buf: Buffer,
  from: number,
  to: number,
  owner: OwnerName,
): ConnectionInfo[] {
  const rows: ConnectionInfo[] = [];
  const size = ROW_BYTES[protocol];
  for (let i = from; i < to; i++) {
    const o = 4 + i * size;
    let localAddress: string, localPort: number, remoteAddress: string, remotePort: number, state: string, pid: number;
    switch (protocol) {
      case 'tcp': // dwState, dwLocalAddr, dwLocalPort, dwRemoteAddr, dwRemotePort, dwOwningPid
        state = tcpStateName(buf.readUInt32LE(o));
        localAddress = ipv4(buf, o + 4);
        localPort = port(buf, o + 8);
        remoteAddress = ipv4(buf, o + 12);
        remotePort = port(buf, o + 16);
        pid = buf.readUInt32LE(o + 20);
        break;
      case 'tcp6': // ucLocalAddr[16], dwLocalScopeId, dwLocalPort, ucRemoteAddr[16], dwRemoteScopeId, dwRemotePort, dwState, dwOwningPid
        localAddress = ipv6(buf, o);
        localPort = port(buf, o + 20);
        remoteAddress = ipv6(buf, o + 24);
        remotePort = port(buf, o + 44);
        state = tcpStateName(buf.readUInt32LE(o + 48));
        pid = buf.readUInt32LE(o + 52);
        break;
      case 'udp': // dwLocalAddr, dwLocalPort, dwOwningPid
        localAddress = ipv4(buf, o);
        localPort = port(buf, o + 4);
        remoteAddress = '0.0.0.0';
        remotePort = 0;
        state = 'UNCONN';
        pid = buf.readUInt32LE(o + 8);
        break;
      case 'udp6': // ucLocalAddr[16], dwLocalScopeId, dwLocalPort, dwOwningPid
        localAddress = ipv6(buf, o);
        localPort = port(buf, o + 20);
        remoteAddress = '::';
        remotePort = 0;
        state = 'UNCONN';
        pid = buf.readUInt32LE(o + 24);
        break;
    }
    rows.push({
      protocol,
      localAddress,
      localPort,
      remoteAddress,
      remotePort,
      state,
      pid: pid === 0 ? null : pid,
      processName: pid === 0 ? null : owner(pid),
      inode: null,
      uid: null,
    });
  }
  return rows;
}

/** The rows of one table in batches of at most `batch` rows, decoded as they are asked for. */
export function* tableBatches(
  protocol: Protocol,
  buf: Buffer,
  length: number,
  owner: OwnerName,
  batch: number,
): Generator<ConnectionInfo[]> {
  const count = tableRowCount(protocol, buf, length);
  for (let from = 0; from < count; from += batch)
    yield decodeTableRows(protocol, buf, from, Math.min(count, from + batch), owner);
}
