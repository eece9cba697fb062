/**
 * The socket tables of IP Helper (iphlpapi.dll): GetExtendedTcpTable (TCP_TABLE_OWNER_PID_ALL: every
 * state, with the owning pid) and GetExtendedUdpTable (UDP_TABLE_OWNER_PID), for IPv4 and IPv6. Each
 * table is copied whole into a buffer; connections-table.ts decodes it.
 */
import type { LibraryHandle } from 'koffi';
import { Win32Error, win32 } from './ffi.js';
import type { Protocol } from './connections-table.js';

const AF_INET = 2;
const AF_INET6 = 23;
const TCP_TABLE_OWNER_PID_ALL = 5;
const UDP_TABLE_OWNER_PID = 1;
const NO_ERROR = 0;
const ERROR_INSUFFICIENT_BUFFER = 122;
/** Tries before giving up when sockets keep appearing between the size query and the copy. */
const ATTEMPTS = 5;

type TableCall = (
  buf: Buffer | null,
  size: number[],
  order: boolean,
  family: number,
  tableClass: number,
  reserved: number,
) => number;

let calls: { tcp: TableCall; udp: TableCall } | null = null;

function tableCalls(): { tcp: TableCall; udp: TableCall } {
  if (calls) return calls;
  const lib: LibraryHandle = win32('iphlpapi.dll');
  calls = {
    tcp: lib.func(
      'uint32 __stdcall GetExtendedTcpTable(_Out_ uint8_t *table, _Inout_ uint32 *size, bool order, uint32 family, int tableClass, uint32 reserved)',
    ),
    udp: lib.func(
      'uint32 __stdcall GetExtendedUdpTable(_Out_ uint8_t *table, _Inout_ uint32 *size, bool order, uint32 family, int tableClass, uint32 reserved)',
    ),
  };
  return calls;
}

/** One table, whole: the buffer and how many of its bytes Windows wrote. */
export function readSocketTable(protocol: Protocol): { buf: Buffer; length: number } {
  const udp = protocol.startsWith('udp');
  const call = udp ? tableCalls().udp : tableCalls().tcp;
  const family = protocol.endsWith('6') ? AF_INET6 : AF_INET;
  const tableClass = udp ? UDP_TABLE_OWNER_PID : TCP_TABLE_OWNER_PID_ALL;
  const name = udp ? 'GetExtendedUdpTable' : 'GetExtendedTcpTable';
  let buf = Buffer.alloc(16 * 1024);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const size = [buf.length];
    const code = call(buf, size, false, family, tableClass, 0);
    if (code === NO_ERROR) return { buf, length: Math.min(size[0]!, buf.length) };
    if (code !== ERROR_INSUFFICIENT_BUFFER) throw new Win32Error(name, code);
    // Room for the sockets opened since Windows said how much it needed.
    buf = Buffer.alloc(size[0]! + 4096 * (attempt + 1));
  }
  throw new Win32Error(name, ERROR_INSUFFICIENT_BUFFER);
}
