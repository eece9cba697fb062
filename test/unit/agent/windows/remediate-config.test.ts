// The pure parts of remediate / undo on Windows: registry bytes kept as hex and read back exactly, the
// deny-lists of services and registry values, task names and files of the task store.
import { describe, expect, it } from 'vitest';
import {
  deniedService,
  deniedValue,
  SERVICE_DENY_LIST,
} from '../../../../src/agent/commands/support/remediate-windows-config.js';
import { parseRegistryPath } from '../../../../src/agent/platform/windows/registry-path.js';
import { bytesToHex, hexToBytes, valuePath, savedKey } from '../../../../src/agent/platform/windows/registry-write.js';
import { isMicrosoftTask, locateTask } from '../../../../src/agent/platform/windows/task-store.js';

const STORE = 'C:\\Windows\\System32\\Tasks';

describe('registry bytes as hex', () => {
  it('round-trips every byte value, an empty value and a slice of a larger buffer', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(hexToBytes(bytesToHex(all)).equals(all)).toBe(true);
    expect(bytesToHex(new Uint8Array(0))).toBe('');
    expect(hexToBytes('').length).toBe(0);
    // a REG_SZ as Windows stores it: UTF-16 LE with its terminating NUL, kept as it is
    const sz = Buffer.from('C:\\x.exe -q\0', 'utf16le');
    expect(hexToBytes(bytesToHex(sz)).equals(sz)).toBe(true);
    // only the slice's bytes, not the whole underlying buffer
    const big = Buffer.from('00112233445566', 'hex');
    expect(bytesToHex(big.subarray(2, 4))).toBe('2233');
    expect(bytesToHex(new Uint8Array(big.buffer, big.byteOffset + 1, 2))).toBe('1122');
  });

  it('refuses hex that is not an even count of hex digits', () => {
    expect(() => hexToBytes('abc')).toThrow(/not hex data/);
    expect(() => hexToBytes('zz')).toThrow(/not hex data/);
    expect(hexToBytes('00FFaa').equals(Buffer.from([0, 255, 170]))).toBe(true);
  });

  it('names a saved value as KEY\\\\VALUE and reads its key back, value names with backslashes included', () => {
    const v = { key: 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run', name: 'A\\B', type: 1, dataHex: '' };
    expect(valuePath(v)).toBe('HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\\\A\\B');
    const p = parseRegistryPath(valuePath(v));
    expect(p).toMatchObject({
      hive: 'HKLM',
      subkey: 'Software\\Microsoft\\Windows\\CurrentVersion\\Run',
      value: 'A\\B',
    });
    expect(savedKey(v)).toMatchObject({
      hive: 'HKLM',
      subkey: 'Software\\Microsoft\\Windows\\CurrentVersion\\Run',
      value: null,
    });
  });
});

describe('services Windows needs', () => {
  it("refuses the documented ones and the agent's own, without regard to case", () => {
    for (const n of [
      'RpcSs',
      'rpcss',
      'RPCEPTMAPPER',
      'DcomLaunch',
      'LSM',
      'SamSs',
      'EventLog',
      'PlugPlay',
      'Winmgmt',
      'BFE',
      'MpsSvc',
      'WinDefend',
      'TrustedInstaller',
      'lr-agent',
      'LR-AGENT',
    ]) {
      expect(deniedService(n), n).toBe(true);
    }
    expect(SERVICE_DENY_LIST).toHaveLength(13);
  });
  it('allows the others, a name that only contains a vital one included', () => {
    for (const n of ['lrevil', 'wuauserv', 'Spooler', 'RpcSsEvil', 'xLSM']) expect(deniedService(n), n).toBe(false);
  });
});

describe('registry values Windows needs', () => {
  const why = (path: string) => deniedValue(parseRegistryPath(path));
  it("refuses Userinit and Shell of Winlogon (both views), BootExecute, and services' keys", () => {
    expect(why('HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\\\Userinit')).toBe(
      'Windows needs it to log on',
    );
    expect(why('HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\\\shell')).toBe(
      'Windows needs it to log on',
    );
    expect(why('HKLM\\Software\\Wow6432Node\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\\\Shell')).toBe(
      'Windows needs it to log on',
    );
    expect(why('HKLM\\System\\CurrentControlSet\\Control\\Session Manager\\\\BootExecute')).toBe(
      'Windows needs it to boot',
    );
    expect(why('HKLM\\SYSTEM\\ControlSet001\\Control\\Session Manager\\\\BootExecute')).toBe(
      'Windows needs it to boot',
    );
    expect(why('HKLM\\System\\CurrentControlSet\\Services\\lrevil\\\\ImagePath')).toMatch(/use remediate service/);
    expect(why('HKLM\\System\\CurrentControlSet\\Services\\lrevil\\Parameters\\\\ServiceDll')).toMatch(
      /use remediate service/,
    );
  });
  it("allows Run values, other Winlogon values and a user's Winlogon Shell (a persistence location, not the system's)", () => {
    expect(why('HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\\\Updater')).toBeNull();
    expect(why('HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\\\Taskman')).toBeNull();
    expect(why('HKCU\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\\\Shell')).toBeNull();
    expect(why('HKLM\\System\\CurrentControlSet\\ServicesX\\\\Foo')).toBeNull();
  });
});

describe('task names and files', () => {
  it('reads a task name or its file into both forms', () => {
    expect(locateTask('\\LrTest\\Updater', STORE)).toEqual({
      name: '\\LrTest\\Updater',
      file: `${STORE}\\LrTest\\Updater`,
    });
    expect(locateTask('c:\\windows\\system32\\tasks\\LrTest\\Updater', STORE)).toEqual({
      name: '\\LrTest\\Updater',
      file: `${STORE}\\LrTest\\Updater`,
    });
    expect(locateTask('C:/Windows/System32/Tasks/Top', STORE)).toEqual({ name: '\\Top', file: `${STORE}\\Top` });
    expect(locateTask('\\\\A\\\\B', STORE).name).toBe('\\A\\B');
  });
  it('refuses what is not a task of the store', () => {
    expect(() => locateTask('\\LrTest\\..\\..\\win.ini', STORE)).toThrow(/\.\. is not a task name component/);
    expect(() => locateTask('C:\\Windows\\System32\\TasksX\\A', STORE)).toThrow(/is not in the task store/);
    expect(() => locateTask('C:\\Windows\\win.ini', STORE)).toThrow(/is not in the task store/);
    expect(() => locateTask('\\', STORE)).toThrow(/names the task store itself/);
    expect(() => locateTask(STORE, STORE)).toThrow(/names the task store itself/);
    expect(() => locateTask('Updater', STORE)).toThrow(/give the task's name/);
    expect(() => locateTask('\\A\\b:c', STORE)).toThrow(/b:c is not a task name component/);
  });
  it("knows Windows' own task folder", () => {
    expect(isMicrosoftTask('\\Microsoft\\Windows\\Defrag\\ScheduledDefrag')).toBe(true);
    expect(isMicrosoftTask('\\microsoft\\x')).toBe(true);
    expect(isMicrosoftTask('\\MicrosoftEdgeUpdateTaskMachineCore')).toBe(false);
  });
});
