// Decoding of IP Helper's owner tables (GetExtendedTcpTable / GetExtendedUdpTable): the bytes below are
// tables as Wine's iphlpapi.dll filled them for a node.exe that listened and connected on loopback.
import { describe, expect, it } from 'vitest';
import {
  decodeTableRows,
  ROW_BYTES,
  tableBatches,
  tableRowCount,
  tcpStateName,
  type Protocol,
} from '../../../../src/agent/platform/windows/connections-table.js';

const TCP_TABLE = Buffer.from(
  '05000000' +
    '02000000' +
    '7f000001' +
    'b0430000' +
    '00000000' +
    '00000000' +
    '00000000' + // LISTEN 127.0.0.1:45123, pid 0
    '02000000' +
    '7f000001' +
    'aa190000' +
    '00000000' +
    '00000000' +
    '00000000' +
    '02000000' +
    '00000000' +
    '07e80000' +
    '00000000' +
    '00000000' +
    '00000000' + // LISTEN 0.0.0.0:2024
    '05000000' +
    '7f000001' +
    'a2af0000' +
    '7f000001' +
    'b0430000' +
    '20000000' + // ESTABLISHED :41647 -> :45123, pid 32
    '05000000' +
    '7f000001' +
    'b0430000' +
    '7f000001' +
    'a2af0000' +
    '00000000',
  'hex',
);
const TCP6_TABLE = Buffer.from(
  '01000000' +
    '00000000000000000000000000000001' +
    '00100000' +
    'b0440000' +
    '00000000000000000000000000000000' +
    '00000000' +
    '00000000' +
    '02000000' +
    '2c010000',
  'hex',
);
const UDP_TABLE = Buffer.from('01000000' + '00000000' + 'b0450000' + '20000000', 'hex');

const names = (pid: number) => (pid === 32 ? 'node.exe' : pid === 300 ? 'svchost.exe' : null);
const all = (protocol: Protocol, buf: Buffer) => decodeTableRows(protocol, buf, 0, tableRowCount(protocol, buf), names);

describe('Windows socket tables', () => {
  it('names the MIB_TCP_STATE values as Linux names the TCP states', () => {
    const names = Array.from({ length: 12 }, (_, i) => tcpStateName(i + 1));
    expect(names).toEqual([
      'CLOSE',
      'LISTEN',
      'SYN_SENT',
      'SYN_RECV',
      'ESTABLISHED',
      'FIN_WAIT1',
      'FIN_WAIT2',
      'CLOSE_WAIT',
      'CLOSING',
      'LAST_ACK',
      'TIME_WAIT',
      'DELETE_TCB',
    ]);
    expect(tcpStateName(0)).toBe('UNKNOWN(0)');
    expect(tcpStateName(99)).toBe('UNKNOWN(99)');
  });

  it('decodes IPv4 TCP rows: addresses and ports from network order, the owner by pid, pid 0 as nobody', () => {
    const rows = all('tcp', TCP_TABLE);
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual({
      protocol: 'tcp',
      localAddress: '127.0.0.1',
      localPort: 45123,
      remoteAddress: '0.0.0.0',
      remotePort: 0,
      state: 'LISTEN',
      pid: null,
      processName: null,
      inode: null,
      uid: null,
    });
    expect(rows[2]).toMatchObject({ localAddress: '0.0.0.0', localPort: 2024, state: 'LISTEN' });
    expect(rows[3]).toMatchObject({
      localAddress: '127.0.0.1',
      localPort: 41647,
      remoteAddress: '127.0.0.1',
      remotePort: 45123,
      state: 'ESTABLISHED',
      pid: 32,
      processName: 'node.exe',
    });
    expect(rows[4]).toMatchObject({ localPort: 45123, remotePort: 41647, pid: null });
  });

  it('decodes IPv6 TCP rows (scope ids left out, as Linux prints them) and UDP rows as UNCONN', () => {
    expect(all('tcp6', TCP6_TABLE)).toEqual([
      {
        protocol: 'tcp6',
        localAddress: '::1',
        localPort: 45124,
        remoteAddress: '::',
        remotePort: 0,
        state: 'LISTEN',
        pid: 300,
        processName: 'svchost.exe',
        inode: null,
        uid: null,
      },
    ]);
    expect(all('udp', UDP_TABLE)).toEqual([
      {
        protocol: 'udp',
        localAddress: '0.0.0.0',
        localPort: 45125,
        remoteAddress: '0.0.0.0',
        remotePort: 0,
        state: 'UNCONN',
        pid: 32,
        processName: 'node.exe',
        inode: null,
        uid: null,
      },
    ]);
    // MIB_UDP6ROW_OWNER_PID: ucLocalAddr[16], dwLocalScopeId, dwLocalPort, dwOwningPid (28 bytes).
    const row = (address: string, scope: number, port: number, pid: number) => {
      const b = Buffer.alloc(28);
      Buffer.from(address, 'hex').copy(b, 0);
      b.writeUInt32LE(scope, 16);
      b.writeUInt16BE(port, 20);
      b.writeUInt32LE(pid, 24);
      return b;
    };
    const udp6 = Buffer.concat([
      Buffer.from('02000000', 'hex'),
      row('fe800000000000000000000000000001', 7, 5353, 32),
      row('00000000000000000000ffff0a000001', 0, 53, 4242),
    ]);
    expect(udp6.length).toBe(4 + 2 * ROW_BYTES.udp6);
    const rows = all('udp6', udp6);
    expect(rows.map((r) => [r.localAddress, r.localPort, r.remoteAddress, r.state])).toEqual([
      ['fe80::1', 5353, '::', 'UNCONN'],
      ['::ffff:10.0.0.1', 53, '::', 'UNCONN'],
    ]);
    expect(rows[0]).toMatchObject({ pid: 32, processName: 'node.exe' });
    expect(rows[1]!.pid).toBe(4242);
    expect(rows[1]!.processName).toBeNull(); // a pid the snapshot does not know: no name rather than a guess
  });

  it('never reads past the bytes Windows wrote, whatever the count says', () => {
    const lying = Buffer.from(TCP_TABLE);
    lying.writeUInt32LE(1000, 0);
    expect(tableRowCount('tcp', lying)).toBe(5);
    expect(tableRowCount('tcp', TCP_TABLE, 4 + 24 * 2 + 10)).toBe(2);
    expect(tableRowCount('udp', Buffer.alloc(3))).toBe(0);
    expect(decodeTableRows('tcp', TCP_TABLE, 1, 3, names).map((r) => r.localPort)).toEqual([43545, 2024]);
  });

  it('hands a big table over in batches, in order, each decoded when asked for', () => {
    const n = 1_234;
    const table = Buffer.alloc(4 + n * ROW_BYTES.udp);
    table.writeUInt32LE(n, 0);
    for (let i = 0; i < n; i++) {
      table.writeUInt8(127, 4 + i * 12);
      table.writeUInt8(1, 4 + i * 12 + 3);
      table.writeUInt16BE(10_000 + i, 4 + i * 12 + 4);
      table.writeUInt32LE(32, 4 + i * 12 + 8);
    }
    const batches = [...tableBatches('udp', table, table.length, names, 500)];
    expect(batches.map((b) => b.length)).toEqual([500, 500, 234]);
    expect(batches.flat().map((r) => r.localPort)).toEqual(Array.from({ length: n }, (_, i) => 10_000 + i));
    expect(batches[2]![233]).toMatchObject({ localAddress: '127.0.0.1', pid: 32, processName: 'node.exe' });
    expect([...tableBatches('tcp', Buffer.from('00000000', 'hex'), 4, names, 500)]).toEqual([]);
  });
});
