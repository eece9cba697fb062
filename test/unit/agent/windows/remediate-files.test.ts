// The pure parts of Windows remediation: the boot-critical deny-list, the critical process names, the
// process tree order (children first, pid reuse guarded by creation times), FILETIME conversions.
import { describe, expect, it } from 'vitest';
import {
  bootCriticalProblem,
  isCriticalProcessName,
  sameWindowsPath,
} from '../../../../src/agent/platform/windows/quarantine-deny.js';
import { ancestorChain, treeChildrenFirst } from '../../../../src/agent/platform/windows/quarantine-tree.js';
import { fileTimeToMs, msToFileTime } from '../../../../src/agent/platform/windows/ffi.js';

describe('bootCriticalProblem', () => {
  it.each([
    'C:\\Windows\\System32\\ntoskrnl.exe',
    'c:\\windows\\system32\\NTOSKRNL.EXE',
    'C:/Windows/System32/kernel32.dll',
    'C:\\Windows\\System32\\config\\SAM',
    'C:\\Windows\\System32\\config\\software',
    'C:\\Windows\\System32\\drivers\\ntfs.sys',
    'C:\\Windows\\System32\\DRIVERS\\Disk.SYS',
    'C:\\Windows\\System32\\winload.efi',
    'C:\\Windows\\System32\\svchost.exe',
    'C:\\bootmgr',
    'C:\\Boot\\BCD',
    'C:\\EFI\\Microsoft\\Boot\\bootmgfw.efi',
    'C:\\Windows\\System32\\Boot\\winload.exe',
  ])('refuses %s', (p) => {
    expect(bootCriticalProblem(p)).toMatch(/boot/);
  });

  it.each([
    'C:\\Windows\\notepad.exe',
    'C:\\Windows\\System32\\notepad.exe',
    'C:\\Windows\\System32\\drivers\\etc\\hosts',
    'C:\\Windows\\System32\\drivers\\sub\\x.sys',
    'C:\\Windows\\System32\\config\\SAM.LOG1x',
    'C:\\Users\\Public\\ntoskrnl.exe',
    'C:\\Users\\Public\\dropper.exe',
    'C:\\Bootleg\\x.exe',
    'D:\\bootmgr',
  ])('lets %s through', (p) => {
    expect(bootCriticalProblem(p)).toBeNull();
  });

  it('follows %SystemRoot% and its drive', () => {
    expect(bootCriticalProblem('D:\\WINNT\\system32\\hal.dll', 'D:\\WINNT')).not.toBeNull();
    expect(bootCriticalProblem('D:\\bootmgr', 'D:\\WINNT')).not.toBeNull();
    expect(bootCriticalProblem('C:\\Windows\\System32\\hal.dll', 'D:\\WINNT')).toBeNull();
  });
});

describe('critical processes and path comparison', () => {
  it('knows the processes Windows cannot lose, in any case', () => {
    for (const n of ['csrss.exe', 'WININIT.EXE', 'smss.exe', 'Lsass.exe', 'services.exe', 'winlogon.exe'])
      expect(isCriticalProcessName(n)).toBe(true);
    for (const n of ['svchost.exe', 'evil.exe', 'lsass', 'csrss.exe.exe']) expect(isCriticalProcessName(n)).toBe(false);
  });

  it('compares paths as Windows does', () => {
    expect(sameWindowsPath('C:\\Program Files\\nodejs\\node.exe', 'c:/program files/NODEJS/node.exe')).toBe(true);
    expect(sameWindowsPath('C:\\a\\node.exe', 'C:\\a\\node.exe.bak')).toBe(false);
  });
});

describe('treeChildrenFirst', () => {
  it('orders a tree deepest first, the root last, and leaves other processes alone', () => {
    const procs = [
      { pid: 10, ppid: 1, createdMs: 100 },
      { pid: 11, ppid: 10, createdMs: 110 },
      { pid: 12, ppid: 11, createdMs: 120 },
      { pid: 13, ppid: 10, createdMs: 130 },
      { pid: 20, ppid: 1, createdMs: 105 },
    ];
    const order = treeChildrenFirst(10, procs);
    expect(order).toEqual([12, 11, 13, 10]);
    expect(order.indexOf(12)).toBeLessThan(order.indexOf(11));
  });

  it('never takes a process older than its recorded parent (a reused pid) nor one whose creation time is unknown', () => {
    const procs = [
      { pid: 10, ppid: 1, createdMs: 500 },
      // pid 10's previous owner started 30 long ago; 30's parent pid still says 10.
      { pid: 30, ppid: 10, createdMs: 50 },
      { pid: 31, ppid: 30, createdMs: 600 },
      { pid: 32, ppid: 10, createdMs: null },
      { pid: 33, ppid: 10, createdMs: 700 },
    ];
    expect(treeChildrenFirst(10, procs)).toEqual([33, 10]);
    // A root whose creation time is unknown is stopped alone.
    expect(
      treeChildrenFirst(
        10,
        procs.map((p) => (p.pid === 10 ? { ...p, createdMs: null } : p)),
      ),
    ).toEqual([10]);
  });

  it('survives a parent loop (pid 0 is its own parent)', () => {
    expect(
      treeChildrenFirst(0, [
        { pid: 0, ppid: 0, createdMs: 0 },
        { pid: 5, ppid: 6, createdMs: 1 },
        { pid: 6, ppid: 5, createdMs: 1 },
      ]),
    ).toEqual([0]);
    expect(
      treeChildrenFirst(5, [
        { pid: 5, ppid: 6, createdMs: 1 },
        { pid: 6, ppid: 5, createdMs: 1 },
      ]),
    ).toEqual([6, 5]);
  });

  it('ancestorChain walks the parents up to the idle process', () => {
    const procs = [
      { pid: 0, ppid: 0 },
      { pid: 4, ppid: 0 },
      { pid: 100, ppid: 4 },
      { pid: 200, ppid: 100 },
      { pid: 300, ppid: 200 },
      { pid: 301, ppid: 200 },
    ];
    expect([...ancestorChain(300, procs)]).toEqual([300, 200, 100, 4]);
  });
});

describe('FILETIME conversion', () => {
  // A double holds a present-day time in ms to about 0.25 µs: the round trip is exact to within 3 ticks of 100 ns.
  it('round-trips to within 3 ticks of 100 ns for a present-day time', () => {
    for (const ft of [133_000_000_000_000_001n, 132_581_212_345_678_909n, 116_444_736_000_000_000n]) {
      const back = msToFileTime(fileTimeToMs(ft));
      expect(back - ft <= 3n && ft - back <= 3n, `${ft} -> ${back}`).toBe(true);
    }
    expect(new Date(fileTimeToMs(116_444_736_000_000_000n + 10_000n)).toISOString()).toBe('1970-01-01T00:00:00.001Z');
  });
});
