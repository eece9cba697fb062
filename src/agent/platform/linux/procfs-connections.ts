/**
 * TCP and UDP sockets (IPv4 and IPv6) from /proc/net/{tcp,tcp6,udp,udp6}, attributed to processes
 * through their socket inodes. These tables show the agent's own network namespace. With thousands of
 * sockets this is one of the heavier commands, so the tables are decoded without intermediate strings
 * and streamed as they are read (see streamConnections).
 */
import path from 'node:path';
import { isGone } from '../../fs/fs-errors.js';
import type { ConnectionInfo } from '../types.js';
import { decodeAddress, decodeEndpoint, ipv4FromWord } from './net-address.js';
import { readProcPieces } from './procfs-read.js';
import { socketOwners, type SocketOwner } from './socket-owners.js';

/** include/net/tcp_states.h */
const TCP_STATES: Readonly<Record<number, string>> = {
  0x01: 'ESTABLISHED',
  0x02: 'SYN_SENT',
  0x03: 'SYN_RECV',
  0x04: 'FIN_WAIT1',
  0x05: 'FIN_WAIT2',
  0x06: 'TIME_WAIT',
  0x07: 'CLOSE',
  0x08: 'CLOSE_WAIT',
  0x09: 'LAST_ACK',
  0x0a: 'LISTEN',
  0x0b: 'CLOSING',
  0x0c: 'NEW_SYN_RECV',
};

const PROTOCOLS = ['tcp', 'tcp6', 'udp', 'udp6'] as const;
type Protocol = (typeof PROTOCOLS)[number];

function stateName(udp: boolean, code: number): string {
  if (udp) {
    // UDP reuses the TCP codes: connected sockets are ESTABLISHED, the rest CLOSE, which ss calls UNCONN.
    return code === 0x01 ? 'ESTABLISHED' : 'UNCONN';
  }
  return TCP_STATES[code] ?? `UNKNOWN(${code})`;
}

/** Hex digit value of a character code, -1 when it is not one. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 65 && c <= 70) return c - 55; // A-F
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

/** Value of the hex digits text[start, end), or -1 when one is not a hex digit (the caller falls back). */
function hexValue(text: string, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = hexDigit(text.charCodeAt(i));
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Number(text[start, end)) for plain decimal digits, without the substring (else Number of it). */
function decimalField(text: string, start: number, end: number): number {
  if (end - start > 15) return Number(text.slice(start, end)); // beyond exact integers: as Number() says
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return Number(text.slice(start, end));
    v = v * 10 + (c - 48);
  }
  return v;
}

/**
 * Decoded local and remote endpoints of one table. Most sockets share a few addresses (loopback, the
 * host's own address, the wildcard), so each distinct address is decoded once per table.
 */
class EndpointDecoder {
  private readonly v4 = new Map<number, string>();
  private readonly other = new Map<string, string>();
  address = '';
  port = 0;

  /** Decodes the field text[start, end) (`HEX:PORT`) into `address` and `port`. */
  decode(text: string, start: number, end: number): void {
    const colon = text.indexOf(':', start);
    const digits = end - colon - 1;
    const port = colon >= 0 && colon < end && digits >= 1 && digits <= 8 ? hexValue(text, colon + 1, end) : -1;
    if (port >= 0 && colon - start === 8) {
      const word = hexValue(text, start, colon);
      if (word >= 0) {
        let address = this.v4.get(word);
        if (address === undefined) this.v4.set(word, (address = ipv4FromWord(word)));
        this.address = address;
        this.port = port;
        return;
      }
    } else if (port >= 0 && colon - start === 32) {
      const hex = text.slice(start, colon);
      let address = this.other.get(hex);
      if (address === undefined) this.other.set(hex, (address = decodeAddress(hex)));
      this.address = address;
      this.port = port;
      return;
    }
    // Anything else: exactly what the general decoder makes of it.
    const endpoint = decodeEndpoint(text.slice(start, end));
    this.address = endpoint.address;
    this.port = endpoint.port;
  }
}

/** Field separators of /proc/net lines: what `\s` matches in latin1 text. */
function isBlank(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160;
}

const FIELDS = 10; // sl local remote st tx:rx tr:when retrnsmt uid timeout inode

/**
 * Decodes the lines of one /proc/net table into rows, piece by piece (the first line is the header).
 * The lines are scanned in place: with thousands of sockets, splitting them into arrays of substrings
 * was a good part of the command's time. Each row is built once, in its final shape, with its owner.
 */
class NetTableParser {
  private header = true;
  private readonly udp: boolean;
  private readonly starts = new Int32Array(FIELDS);
  private readonly ends = new Int32Array(FIELDS);
  private readonly local = new EndpointDecoder();
  private readonly remote = new EndpointDecoder();

  constructor(
    private readonly protocol: Protocol,
    private readonly owners?: ReadonlyMap<number, SocketOwner>,
  ) {
    this.udp = protocol.startsWith('udp');
  }

  /** Parses the whole lines of `text` (a piece of the table that ends at a line end, or its last piece). */
  parse(text: string, rows: ConnectionInfo[]): void {
    const { starts, ends, local, remote } = this;
    const n = text.length;
    let pos = 0;
    if (this.header) {
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      this.header = false;
      pos = nl + 1;
    }
    while (pos < n) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = n;
      let count = 0;
      for (let i = pos; count < FIELDS;) {
        while (i < eol && isBlank(text.charCodeAt(i))) i++;
        if (i >= eol) break;
        starts[count] = i;
        while (i < eol && !isBlank(text.charCodeAt(i))) i++;
        ends[count++] = i;
      }
      pos = eol + 1;
      if (count < FIELDS) continue;
      local.decode(text, starts[1]!, ends[1]!);
      remote.decode(text, starts[2]!, ends[2]!);
      let code = ends[3]! - starts[3]! <= 8 ? hexValue(text, starts[3]!, ends[3]!) : -1;
      if (code < 0) code = parseInt(text.slice(starts[3], ends[3]), 16);
      const inode = decimalField(text, starts[9]!, ends[9]!);
      // inode 0: a socket no longer attached to a file (TIME_WAIT): nobody owns it.
      const owner = inode === 0 ? undefined : this.owners?.get(inode);
      rows.push({
        protocol: this.protocol,
        localAddress: local.address,
        localPort: local.port,
        remoteAddress: remote.address,
        remotePort: remote.port,
        state: stateName(this.udp, code),
        inode,
        uid: decimalField(text, starts[7]!, ends[7]!),
        pid: owner?.pid ?? null,
        processName: owner?.processName ?? null,
      });
    }
  }
}

/** Parses one /proc/net table (the header line is skipped); the rows have no owner (pid null). */
export function parseNetTable(protocol: Protocol, text: string): ConnectionInfo[] {
  const rows: ConnectionInfo[] = [];
  new NetTableParser(protocol).parse(text, rows);
  return rows;
}

/** Rows handed to the sink at a time while a table is read. */
const CHUNK_ROWS = 500;

/**
 * The sockets, each with its owner, handed to `sink` a few hundred rows at a time (awaited: it applies
 * the backpressure). The owners are found first, as ss -p does; then each table is read, decoded and
 * handed over piece by piece, so that with thousands of sockets the first rows are on their way while
 * the kernel is still printing the rest of the table (about a page per read).
 */
export async function streamConnections(
  procRoot: string,
  sink: (rows: ConnectionInfo[]) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const owners = await socketOwners(procRoot, null, signal);
  for (const protocol of PROTOCOLS) {
    const parser = new NetTableParser(protocol, owners);
    let rows: ConnectionInfo[] = [];
    try {
      await readProcPieces(path.join(procRoot, 'net', protocol), (text) => {
        parser.parse(text, rows);
        if (rows.length < CHUNK_ROWS) return;
        const full = rows;
        rows = [];
        return sink(full);
      });
    } catch (err) {
      if (!isGone(err)) throw err; // gone: e.g. IPv6 disabled
    }
    if (rows.length > 0) await sink(rows);
    signal?.throwIfAborted();
  }
}

/** All the rows of streamConnections at once (collect keeps them in a file). */
export async function listConnections(procRoot: string, signal?: AbortSignal): Promise<ConnectionInfo[]> {
  const all: ConnectionInfo[] = [];
  await streamConnections(
    procRoot,
    async (rows) => {
      for (const r of rows) all.push(r);
    },
    signal,
  );
  return all;
}
