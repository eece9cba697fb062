/** Windows path rules and resolution (pure: runs under Linux). */
import { describe, expect, it } from 'vitest';
import {
  reservedDeviceName,
  resolveWindowsPath,
  windowsPathProblem,
  windowsWithin,
} from '../../../../src/agent/platform/windows/paths.js';

describe('windowsPathProblem', () => {
  it('accepts ordinary local paths, with either slash, any case, relative or drive-relative', () => {
    for (const p of [
      'C:\\Windows\\win.ini',
      'c:/windows/WIN.INI',
      'C:\\Program Files\\x y.exe',
      'D:',
      'D:x',
      '..\\..\\a',
      '\\Users',
      'a.b.c',
      'CONSOLE.txt',
      'com10',
      'nul_file',
      'LPT0',
      'aux-x.txt',
      'C:\\',
      '报告.txt',
      'C:\\$Recycle.Bin',
    ]) {
      expect(windowsPathProblem(p), p).toBeNull();
    }
  });

  it('refuses UNC paths', () => {
    for (const p of ['\\\\server\\share\\x', '//server/share/x', '\\/server\\share', '\\\\127.0.0.1\\c$\\Windows']) {
      expect(windowsPathProblem(p), p).toMatch(/^UNC/);
    }
  });

  it('refuses device and namespace paths', () => {
    for (const p of [
      '\\\\.\\PhysicalDrive0',
      '\\\\?\\C:\\Windows\\win.ini',
      '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\x',
      '//./pipe/x',
      '\\\\?\\UNC\\server\\share',
      '\\\\.',
      '\\\\?',
    ]) {
      expect(windowsPathProblem(p), p).toMatch(/^device or namespace path/);
    }
    expect(windowsPathProblem('\\??\\C:\\x')).toMatch(/^NT object path/);
  });

  it('refuses reserved device names in any component, any case, with or without extension', () => {
    const names = [
      'NUL',
      'nul',
      'Con',
      'PRN',
      'aux',
      'COM1',
      'com9',
      'LPT1',
      'lpt9',
      'NUL.txt',
      'con.tar.gz',
      'NUL ',
      'nul.',
      'COM\u00b9',
      'CONIN$',
      'conout$',
      'AUX .txt',
    ];
    for (const n of names) {
      expect(windowsPathProblem(n), n).toMatch(/reserved device name/);
      expect(windowsPathProblem(`C:\\Users\\${n}\\x.txt`), n).toMatch(/reserved device name/);
      expect(windowsPathProblem(`C:/temp/${n}`), n).toMatch(/reserved device name/);
    }
    expect(reservedDeviceName('Com3.log')).toBe('COM3');
    expect(reservedDeviceName('COM0')).toBeNull();
    expect(reservedDeviceName('NULL')).toBeNull();
  });

  it('refuses alternate data streams but not the drive colon', () => {
    for (const p of [
      'file.txt:stream',
      'C:\\x\\file.txt:hidden:$DATA',
      'C:\\x\\file.txt::$DATA',
      'C::$DATA',
      'dir:x\\y',
      'C:\\x:',
    ]) {
      expect(windowsPathProblem(p), p).toMatch(/alternate data stream/);
    }
    expect(windowsPathProblem('1:\\x')).toMatch(/not a drive/);
  });

  it('refuses characters Windows names never hold', () => {
    for (const p of ['C:\\a*b', 'a?b', 'x<y', 'x>y', 'a|b', 'a"b', 'a\u0001b'])
      expect(windowsPathProblem(p), p).toMatch(/not valid in a Windows path/);
    expect(windowsPathProblem('a\u0000b')).toMatch(/NUL character/);
  });

  it('refuses over-long paths and names', () => {
    expect(windowsPathProblem(`C:\\${'a'.repeat(256)}`)).toMatch(/a name of 256 characters/);
    expect(windowsPathProblem(`C:\\${'a'.repeat(255)}`)).toBeNull();
    const deep = `C:${'\\abcdefgh'.repeat(3700)}`;
    expect(deep.length).toBeGreaterThan(32_767);
    expect(windowsPathProblem(deep)).toMatch(/path of \d+ characters/);
    expect(windowsPathProblem('')).toBe('empty path');
  });
});

describe('resolveWindowsPath', () => {
  it('resolves relative paths and .. against the session folder, backslashes and upper-case drive out', () => {
    expect(resolveWindowsPath('C:\\Windows', 'System32\\drivers')).toBe('C:\\Windows\\System32\\drivers');
    expect(resolveWindowsPath('C:\\Windows\\System32', '..\\win.ini')).toBe('C:\\Windows\\win.ini');
    expect(resolveWindowsPath('C:\\Windows', 'c:/users/public')).toBe('C:\\users\\public');
    expect(resolveWindowsPath('c:\\windows\\', '.')).toBe('C:\\windows');
    expect(resolveWindowsPath('C:\\Windows', '\\Users')).toBe('C:\\Users');
    expect(resolveWindowsPath('D:\\data', '/x/y/')).toBe('D:\\x\\y');
    expect(resolveWindowsPath('C:\\', 'a//b\\\\c')).toBe('C:\\a\\b\\c');
  });

  it('changes drives: D:\\ and D: go to the root of D: unless the session is on D:', () => {
    expect(resolveWindowsPath('C:\\Windows', 'D:\\')).toBe('D:\\');
    expect(resolveWindowsPath('C:\\Windows', 'D:')).toBe('D:\\');
    expect(resolveWindowsPath('C:\\Windows', 'd:x')).toBe('D:\\x');
    expect(resolveWindowsPath('D:\\data', 'D:')).toBe('D:\\data');
    expect(resolveWindowsPath('D:\\data', 'D:x')).toBe('D:\\data\\x');
    expect(resolveWindowsPath('D:\\data', 'C:')).toBe('C:\\');
  });

  it('keeps .. at the drive root, as Windows does', () => {
    expect(resolveWindowsPath('C:\\', '..\\..\\..')).toBe('C:\\');
    expect(resolveWindowsPath('C:\\Users', '..\\..\\..\\Windows\\win.ini')).toBe('C:\\Windows\\win.ini');
    expect(resolveWindowsPath('C:\\', 'D:\\..\\..\\x')).toBe('D:\\x');
  });

  it('drops trailing dots and spaces of names, as Win32 does before opening', () => {
    expect(resolveWindowsPath('C:\\', 'Windows.\\win.ini ')).toBe('C:\\Windows\\win.ini');
  });

  it('starts from C:\\ when the session folder is not a Windows path', () => {
    expect(resolveWindowsPath('/', 'x')).toBe('C:\\x');
  });
});

describe('windowsWithin', () => {
  it('compares case-insensitively with either slash, on whole names', () => {
    expect(windowsWithin('c:\\programdata\\LR-AGENT\\agent.json', 'C:\\ProgramData\\lr-agent')).toBe(true);
    expect(windowsWithin('C:/ProgramData/lr-agent', 'C:\\ProgramData\\lr-agent\\')).toBe(true);
    expect(windowsWithin('C:\\ProgramData\\lr-agent2\\x', 'C:\\ProgramData\\lr-agent')).toBe(false);
  });
});
