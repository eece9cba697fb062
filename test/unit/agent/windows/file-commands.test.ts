/**
 * The file commands of a Windows agent refuse bad paths before touching the disk. Runs under Linux: the
 * commands get a platform layer that says win32 (a stand-in for the platform's name only; the refusals
 * happen before any platform or file system call, which is what this checks), and the real checks run
 * under Wine in test/integration/windows/files.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { AgentCommand } from '../../../../src/agent/command.js';
import { cdCommand } from '../../../../src/agent/commands/cd.js';
import { dirCommand } from '../../../../src/agent/commands/dir.js';
import { fileinfoCommand } from '../../../../src/agent/commands/fileinfo.js';
import { findfileCommand } from '../../../../src/agent/commands/findfile.js';
import { getfileCommand } from '../../../../src/agent/commands/getfile.js';
import {
  attributeString,
  attributesFromStat,
  contentReadProblem,
} from '../../../../src/agent/platform/windows/file-attributes.js';
import { createLinuxPlatform } from '../../../../src/agent/platform/linux.js';
import { driveRoots } from '../../../../src/agent/platform/windows/volumes.js';
import { compileNamePattern } from '../../../../src/agent/fs/glob.js';
import { windowsChildPath } from '../../../../src/agent/fs/walk.js';
import { makeHarness, runCommand } from '../helpers.js';

const windowsNamed = { ...createLinuxPlatform({ sysroot: '/' }), name: 'win32' as const };

const BAD: Array<[string, RegExp]> = [
  ['\\\\server\\share\\x', /UNC \(network\) path/],
  ['//server/share/x', /UNC \(network\) path/],
  ['\\\\.\\PhysicalDrive0', /device or namespace path/],
  ['\\\\?\\C:\\Windows\\win.ini', /device or namespace path/],
  ['\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\Windows', /device or namespace path/],
  ['C:\\Temp\\NUL', /reserved device name NUL/],
  ['con.txt', /reserved device name CON/],
  ['C:\\Users\\Com1.log\\x', /reserved device name COM1/],
  ['lpt9', /reserved device name LPT9/],
  ['aux', /reserved device name AUX/],
  ['prn.', /reserved device name PRN/],
  ['C:\\x\\file.txt:stream', /alternate data stream/],
  ['file.txt::$DATA', /alternate data stream/],
  [`C:\\${'n'.repeat(256)}`, /a name of 256 characters/],
  [`C:${'\\abcdefgh'.repeat(3700)}`, /path of \d+ characters/],
  ['Q:\\evidence', /there is no drive Q: on this device/],
];

const COMMANDS: Array<[string, AgentCommand, (p: string) => Record<string, string>]> = [
  ['cd', cdCommand, (p) => ({ path: p })],
  ['dir', dirCommand, (p) => ({ path: p })],
  ['fileinfo', fileinfoCommand, (p) => ({ path: p })],
  ['findfile', findfileCommand, (p) => ({ name: 'x', path: p })],
  ['getfile', getfileCommand, (p) => ({ path: p })],
];

describe('file commands on a Windows agent refuse what is not a local file, in one line naming the path', () => {
  for (const [name, command, params] of COMMANDS) {
    it(name, async () => {
      for (const [bad, reason] of BAD) {
        const h = makeHarness({ cwd: 'C:\\', platform: windowsNamed });
        const err = await runCommand(command, h, params(bad)).then(
          () => null,
          (e: Error) => e,
        );
        expect(err, `${name} ${bad}`).not.toBeNull();
        expect(err!.message, bad).toMatch(reason);
        expect(err!.message.startsWith(`${name}: `)).toBe(true);
        expect(err!.message).not.toMatch(/\n/);
        // The path is named (cut when it is very long).
        expect(err!.message).toContain(bad.slice(0, 20));
        expect(h.records).toEqual([]);
      }
    });
  }

  it('escapes control characters of a refused path (no terminal escape reaches the analyst)', async () => {
    const h = makeHarness({ cwd: 'C:\\', platform: windowsNamed });
    const err = await runCommand(dirCommand, h, { path: 'C:\\x\u001b[31mred' }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/not valid in a Windows path/);
    expect((err as Error).message).not.toContain('\u001b');
  });

  it('judges the path once resolved too: a session folder plus a name past the limit', async () => {
    const deepCwd = `C:${'\\abcdefgh'.repeat(3600)}`;
    const h = makeHarness({ cwd: deepCwd, platform: windowsNamed });
    await expect(runCommand(dirCommand, h, { path: 'x'.repeat(200) + '\\y'.repeat(200) })).rejects.toThrow(
      /path of \d+ characters/,
    );
  });
});

describe('Windows file attributes as mode', () => {
  it('writes them as PowerShell Mode does', () => {
    expect(attributeString(0x20)).toBe('-a----');
    expect(attributeString(0x10)).toBe('d-----');
    expect(attributeString(0x10 | 0x2 | 0x4)).toBe('d--hs-');
    expect(attributeString(0x1 | 0x20 | 0x400)).toBe('-ar--l');
    const st = (mode: number, dir = false, link = false) => ({
      mode,
      isDirectory: () => dir,
      isSymbolicLink: () => link,
    });
    expect(attributeString(attributesFromStat(st(0o100444)))).toBe('--r---');
    expect(attributeString(attributesFromStat(st(0o40666, true)))).toBe('d-----');
  });
});

describe('Windows files whose content is elsewhere', () => {
  it('are never read: cloud placeholders (recall on open or on data access) and offline files', () => {
    for (const a of [0x1000, 0x40000, 0x400000, 0x400000 | 0x20 | 0x400])
      expect(contentReadProblem(a), a.toString(16)).toMatch(/not on this device .* would fetch it from its provider/);
    for (const a of [0, 0x20, 0x1 | 0x2 | 0x4, 0x200, 0x800]) expect(contentReadProblem(a), a.toString(16)).toBeNull();
    expect(contentReadProblem(null)).toBeNull();
  });
});

describe('Windows helpers of findfile', () => {
  it('lists drive roots of a GetLogicalDrives mask', () => {
    expect(driveRoots(0b100)).toEqual(['C:\\']);
    expect(driveRoots((1 << 2) | (1 << 3) | (1 << 25))).toEqual(['C:\\', 'D:\\', 'Z:\\']);
  });

  it('matches names case-insensitively when asked, and only then', () => {
    expect(compileNamePattern('WIN.INI', { ignoreCase: true })('win.ini')).toBe(true);
    expect(compileNamePattern('*.DLL', { ignoreCase: true })('Kernel32.dll')).toBe(true);
    expect(compileNamePattern('[A-C]*.exe', { ignoreCase: true })('bash.EXE')).toBe(true);
    expect(compileNamePattern('WIN.INI')('win.ini')).toBe(false);
    expect(compileNamePattern('*.DLL')('x.dll')).toBe(false);
  });

  it('joins walk paths with backslashes', () => {
    expect(windowsChildPath('C:\\', 'Windows')).toBe('C:\\Windows');
    expect(windowsChildPath('C:\\Windows', 'System32')).toBe('C:\\Windows\\System32');
  });
});
