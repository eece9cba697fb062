// Pure parts of collect, analyze and scan on Windows: read-failure reasons, member names, the event logs'
// size plan, installed programs from Uninstall values, user hive names, where programs are looked for on
// PATH, the YARA refusal, and the threat lines of Microsoft Defender's MpCmdRun output.
import { describe, expect, it } from 'vitest';
import { defenderArgs, defenderScanner } from '../../../../src/agent/commands/scan.js';
import {
  defenderOutputText,
  parseDefenderThreats,
  programCandidates,
  yaraUnavailable,
} from '../../../../src/agent/engines.js';
import { channelOfLogFile } from '../../../../src/agent/platform/windows/collect-evtx-export.js';
import {
  MAX_EVTX_BYTES,
  MAX_EVTX_TOTAL_BYTES,
  memberPart,
  planEventLogs,
  windowsReadReason,
} from '../../../../src/agent/platform/windows/collect-files.js';
import { installedProgram, userHiveSids, valueText } from '../../../../src/agent/platform/windows/collect-registry.js';
import type { RegistryRecord } from '../../../../src/agent/platform/windows/registry.js';

const err = (code: string) => Object.assign(new Error(`${code}: x`), { code });
const value = (name: string, v: RegistryRecord['value'], type = 'REG_SZ'): RegistryRecord => ({
  key: 'K',
  kind: 'value',
  name,
  type,
  size: 0,
  data: String(v),
  value: v,
  lastWrite: null,
});

describe('collect on Windows: pure parts', () => {
  it('says why a file could not be read in Windows terms', () => {
    expect(windowsReadReason(err('EBUSY'))).toBe('locked by another process');
    expect(windowsReadReason(err('EPERM'))).toBe('access denied');
    expect(windowsReadReason(err('EACCES'))).toBe('access denied');
    expect(windowsReadReason(err('ENOENT'))).toBe('not found');
    expect(windowsReadReason(err('EIO'))).toBe('input/output error');
  });

  it('makes member names without folder separators or control characters', () => {
    expect(memberPart('Security.evtx')).toBe('Security.evtx');
    expect(memberPart('..')).toBe('_');
    expect(memberPart('a/b\\c\x01')).toBe('a_b_c_');
  });

  it('copies event logs whole up to the cap and the budget, and notes the others', () => {
    const dir = 'C:\\Windows\\System32\\winevt\\Logs';
    const big = MAX_EVTX_BYTES + 1;
    const files = [
      { name: 'System.evtx', size: 1000 },
      { name: 'Huge.evtx', size: big },
    ];
    const many = Array.from({ length: Math.ceil(MAX_EVTX_TOTAL_BYTES / MAX_EVTX_BYTES) + 1 }, (_, i) => ({
      name: `L${i}.evtx`,
      size: MAX_EVTX_BYTES,
    }));
    const plan = planEventLogs(dir, [...files, ...many]);
    // System.evtx comes first (a log read first), then the others smallest first
    expect(plan.sources[0]).toEqual({
      member: 'logs/evtx/System.evtx',
      path: `${dir}\\System.evtx`,
      tailBytes: MAX_EVTX_BYTES,
    });
    expect(plan.sources[1]?.member).toBe('logs/evtx/L0.evtx');
    expect(plan.sources.map((s) => s.member)).not.toContain('logs/evtx/Huge.evtx');
    expect(plan.notes).toContain(
      `${dir}\\Huge.evtx: not collected: ${big} bytes, larger than ${MAX_EVTX_BYTES} (a cut event log cannot be read)`,
    );
    expect(plan.notes.some((n) => /budget of \d+ bytes is spent$/.test(n))).toBe(true);
    const total = plan.sources.reduce(
      (t, s) => t + ([...files, ...many].find((f) => `logs/evtx/${f.name}` === s.member)?.size ?? 0),
      0,
    );
    expect(total).toBeLessThanOrEqual(MAX_EVTX_TOTAL_BYTES);
  });

  it('reads an installed program from its Uninstall values, names compared without case', () => {
    const values = [
      value('displayname', 'Seven Zip'),
      value('DisplayVersion', '23.01'),
      value('Publisher', 'Igor'),
      value('InstallDate', 20240101, 'REG_DWORD'),
      value('UninstallString', '"C:\\7z\\uninst.exe"'),
    ];
    expect(installedProgram('HKLM\\X\\Uninstall\\7-Zip', 'HKLM', '32-bit', values, '2024-01-01T00:00:00.000Z')).toEqual(
      {
        key: 'HKLM\\X\\Uninstall\\7-Zip',
        hive: 'HKLM',
        view: '32-bit',
        displayName: 'Seven Zip',
        displayVersion: '23.01',
        publisher: 'Igor',
        installDate: '20240101',
        installLocation: null,
        uninstallString: '"C:\\7z\\uninst.exe"',
        lastWrite: '2024-01-01T00:00:00.000Z',
      },
    );
    expect(valueText([value('M', ['a', 'b'], 'REG_MULTI_SZ')], 'm')).toBe('a b');
  });

  it('takes the users hives under HKU, not their _Classes companions nor .DEFAULT', () => {
    expect(userHiveSids(['.DEFAULT', 'S-1-5-21-1-2-3-1000_Classes', 'S-1-5-21-1-2-3-1000', 'S-1-5-18'])).toEqual([
      'S-1-5-18',
      'S-1-5-21-1-2-3-1000',
    ]);
  });
});

describe('analyze and scan on Windows: pure parts', () => {
  it('looks for programs in PATH folders: .exe on Windows, absolute folders only; Linux unchanged', () => {
    const env = { Path: 'C:\\Windows\\system32;"C:\\Program Files\\ClamAV";relative;;.' };
    expect(programCandidates('clamscan', 'win32', env)).toEqual([
      'C:\\Windows\\system32\\clamscan.exe',
      'C:\\Program Files\\ClamAV\\clamscan.exe',
    ]);
    expect(programCandidates('yara', 'linux', { PATH: '/usr/local/bin:/usr/bin' })).toEqual([
      '/usr/local/bin/yara',
      '/usr/bin/yara',
      '/usr/bin/yara',
      '/usr/local/bin/yara',
    ]);
  });

  it('YARA is refused on Windows in one line, not on Linux', () => {
    expect(yaraUnavailable('win32')).toBe('no YARA engine on Windows yet');
    expect(yaraUnavailable('linux')).toBeNull();
  });

  it("builds MpCmdRun's arguments: quick, full, one path, never remediating", () => {
    expect(defenderScanner({ ProgramFiles: 'D:\\Programs' })).toBe('D:\\Programs\\Windows Defender\\MpCmdRun.exe');
    expect(defenderArgs('quick', null)).toEqual(['-Scan', '-ScanType', '1', '-DisableRemediation']);
    expect(defenderArgs('full', null)).toEqual(['-Scan', '-ScanType', '2', '-DisableRemediation']);
    expect(defenderArgs('quick', 'C:\\Users\\Public\\x.exe')).toEqual([
      '-Scan',
      '-ScanType',
      '3',
      '-File',
      'C:\\Users\\Public\\x.exe',
      '-DisableRemediation',
    ]);
  });

  it("reads only the threat lines of MpCmdRun's output, in UTF-8 or UTF-16", () => {
    const output = [
      'Scan starting...',
      'Scan finished.',
      'Scanning C:\\Users\\Public found 2 threats.',
      '',
      '<===========================LIST OF DETECTED THREATS==========================>',
      '----------------------------- Threat information ------------------------------',
      'Threat                  : Virus:DOS/EICAR_Test_File',
      'Resources               : 2 total',
      '    file                : C:\\Users\\Public\\eicar.com',
      '    file                : C:\\Users\\Public\\copy\\eicar.txt',
      '-------------------------------------------------------------------------------',
      '----------------------------- Threat information ------------------------------',
      'Threat                  : Trojan:Win32/Planted',
      'Resources               : 1 total',
      '    regkey              : HKLM\\SOFTWARE\\Bad',
      '-------------------------------------------------------------------------------',
    ].join('\r\n');
    const expected = [
      {
        signature: 'Virus:DOS/EICAR_Test_File',
        paths: ['C:\\Users\\Public\\eicar.com', 'C:\\Users\\Public\\copy\\eicar.txt'],
      },
      { signature: 'Trojan:Win32/Planted', paths: [] },
    ];
    expect(parseDefenderThreats(output)).toEqual(expected);
    expect(parseDefenderThreats(defenderOutputText(Buffer.from(`\uFEFF${output}`, 'utf16le')))).toEqual(expected);
    expect(parseDefenderThreats(defenderOutputText(Buffer.from(output)))).toEqual(expected);
    expect(parseDefenderThreats('Scan starting...\r\nScan finished.\r\nScanning C:\\ found no threats.\r\n')).toEqual(
      [],
    );
  });
});

describe('a locked event log is exported by channel', () => {
  it('names the channel of an .evtx file as Windows names its files', () => {
    expect(channelOfLogFile('Security.evtx')).toBe('Security');
    expect(channelOfLogFile('Microsoft-Windows-PowerShell%4Operational.evtx')).toBe(
      'Microsoft-Windows-PowerShell/Operational',
    );
    expect(channelOfLogFile('Windows PowerShell.EVTX')).toBe('Windows PowerShell');
  });
});
