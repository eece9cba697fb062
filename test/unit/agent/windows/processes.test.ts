// The pure parts of the Windows process listing (SIDs, Toolhelp entries, FILETIME spans, account names)
// and the processes command's -pid/-name filters on a Windows layer.
import { describe, expect, it } from 'vitest';
import { processesCommand, processHasName } from '../../../../src/agent/commands/processes.js';
import { createUnsupportedPlatform } from '../../../../src/agent/platform/unsupported.js';
import type { PlatformLayer, ProcessInfo } from '../../../../src/agent/platform/types.js';
import {
  accountName,
  fileTimeSpanMs,
  sidLength,
  sidToString,
  unicodeStringHeader,
} from '../../../../src/agent/platform/windows/processes-decode.js';
import { decodeProcessEntry, PROCESSENTRY32W_SIZE } from '../../../../src/agent/platform/windows/toolhelp.js';
import { makeHarness, runCommand } from '../helpers.js';

describe('Windows process decoding', () => {
  it('writes SIDs in their S-1-… form (the token user Wine gives, LocalSystem) and refuses truncated ones', () => {
    const wineUser = Buffer.from('010500000000000515000000000000000000000000000000e8030000', 'hex');
    expect(sidToString(wineUser)).toBe('S-1-5-21-0-0-0-1000');
    expect(sidLength(wineUser)).toBe(28);
    expect(sidToString(Buffer.from('010100000000000512000000', 'hex'))).toBe('S-1-5-18');
    expect(sidToString(wineUser.subarray(0, 20))).toBeNull();
    expect(sidToString(Buffer.alloc(4))).toBeNull();
  });

  it('reads pid, parent pid and image name from a PROCESSENTRY32W (64-bit layout)', () => {
    const entry = Buffer.alloc(PROCESSENTRY32W_SIZE);
    entry.writeUInt32LE(PROCESSENTRY32W_SIZE, 0);
    entry.writeUInt32LE(4242, 8);
    entry.writeUInt32LE(77, 32);
    entry.write('Ünïcode svc.exe\0garbage', 44, 'utf16le');
    expect(decodeProcessEntry(entry)).toEqual({ pid: 4242, ppid: 77, name: 'Ünïcode svc.exe' });
    entry.fill(0x41, 44); // no terminator within szExeFile: the 260 characters, nothing beyond
    expect(decodeProcessEntry(entry).name).toBe('\u4141'.repeat(260)); // MAX_PATH characters, not the padding after them
  });

  it('turns FILETIME spans into milliseconds, accounts into DOMAIN\\name, UNICODE_STRING headers into length and address', () => {
    const t = Buffer.alloc(8);
    t.writeBigUInt64LE(123_456_789n);
    expect(fileTimeSpanMs(t)).toBe(12_345);
    expect(accountName('NT AUTHORITY', 'SYSTEM')).toBe('NT AUTHORITY\\SYSTEM');
    expect(accountName('', 'Everyone')).toBe('Everyone');
    const us = Buffer.alloc(16);
    us.writeUInt16LE(42, 0);
    us.writeUInt16LE(44, 2);
    us.writeBigUInt64LE(0x7ff6_1234_5678n, 8);
    expect(unicodeStringHeader(us)).toEqual({ bytes: 42, address: 0x7ff6_1234_5678n });
  });
});

/** A fake Windows layer (only its process list), to test the command's filters without Windows. */
function fakeWindows(list: ProcessInfo[]): PlatformLayer {
  return { ...createUnsupportedPlatform('win32', { sysroot: '/' }), listProcesses: async () => list };
}

const proc = (pid: number, name: string, path: string | null): ProcessInfo => ({
  pid,
  ppid: 1,
  name,
  user: 'VM\\root',
  uid: null,
  state: 'running',
  sessionId: 1,
  startTime: '2026-01-01T00:00:00.000Z',
  cmdline: name,
  path,
  rssBytes: 1,
  cpuTimeMs: 1,
});

describe('processes on Windows', () => {
  const list = [
    proc(10, 'node.exe', 'C:\\Program Files\\nodejs\\node.exe'),
    proc(11, 'svchost.exe', null),
    proc(12, 'Renamed.EXE', 'C:\\Tools\\Payload.exe'),
  ];

  it('matches names ignoring case and .exe, against the image name and the path', () => {
    expect(processHasName(list[0]!, 'node', true)).toBe(true);
    expect(processHasName(list[0]!, 'NODE.exe', true)).toBe(true);
    expect(processHasName(list[0]!, 'nod', true)).toBe(false);
    expect(processHasName(list[2]!, 'payload', true)).toBe(true);
    expect(processHasName(list[2]!, 'renamed', true)).toBe(true);
    expect(processHasName(list[1]!, 'svchost', true)).toBe(true);
    expect(processHasName(list[0]!, 'node', false)).toBe(false); // Linux stays exact
  });

  it('filters -name and -pid through the command; an unknown pid is an empty table', async () => {
    const byName = makeHarness({ platform: fakeWindows(list) });
    await runCommand(processesCommand, byName, { name: 'Node' });
    expect(byName.records.map((r) => r.pid)).toEqual([10]);
    const byPid = makeHarness({ platform: fakeWindows(list) });
    await runCommand(processesCommand, byPid, { pid: '12' });
    expect(byPid.records.map((r) => r.name)).toEqual(['Renamed.EXE']);
    const none = makeHarness({ platform: fakeWindows(list) });
    await runCommand(processesCommand, none, { pid: 999999 });
    expect(none.records).toEqual([]);
    await expect(
      runCommand(processesCommand, makeHarness({ platform: fakeWindows(list) }), { name: 'calc' }),
    ).rejects.toThrow('processes: no process named calc');
  });
});
