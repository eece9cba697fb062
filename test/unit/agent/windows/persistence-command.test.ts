// The pure part of `persistence` on Windows: which file a stored command line launches, resolved as Windows
// would, against a fake file system (a set of existing paths) standing in for the disk in this unit test.
import { describe, expect, it } from 'vitest';
import {
  expandEnvironment,
  plainPath,
  resolveLaunch,
  splitArguments,
  splitList,
  type ResolveContext,
} from '../../../../src/agent/platform/windows/persistence-command.js';
import {
  isUnusualLocation,
  serviceEntry,
  startupEntry,
  taskEntry,
} from '../../../../src/agent/platform/windows/persistence-sources.js';
import type { ScheduledTaskInfo, ServiceInfo } from '../../../../src/agent/platform/types.js';

const ENV = {
  SystemRoot: 'C:\\Windows',
  SystemDrive: 'C:',
  ProgramFiles: 'C:\\Program Files',
  PUBLIC: 'C:\\Users\\Public',
  Path: 'C:\\Windows\\system32;C:\\Windows;C:\\Tools\\bin\\',
};

function ctx(...files: string[]): ResolveContext {
  const set = new Set(files.map((f) => f.toLowerCase()));
  return { env: ENV, isFile: (p) => set.has(p.toLowerCase()) };
}

describe('environment variables', () => {
  it('expands known variables in any case and leaves unknown ones', () => {
    expect(expandEnvironment('%systemroot%\\x.exe %PUBLIC%', ENV)).toBe('C:\\Windows\\x.exe C:\\Users\\Public');
    expect(expandEnvironment('%NOPE%\\x %', ENV)).toBe('%NOPE%\\x %');
    expect(expandEnvironment('100% sure %SystemDrive%', ENV)).toBe(
      '100% sure %SystemDrive%'.replace('%SystemDrive%', 'C:'),
    );
  });
});

describe('command line → launched file', () => {
  it('takes a quoted program as it is', () => {
    expect(resolveLaunch('"C:\\Users\\Public\\dropper.exe" -q', ctx('C:\\Users\\Public\\dropper.exe'))).toEqual({
      path: 'C:\\Users\\Public\\dropper.exe',
      found: true,
      via: null,
    });
  });

  it('resolves an unquoted path with spaces word by word, as CreateProcess does', () => {
    const c = ctx('C:\\Program Files\\My App\\app.exe');
    expect(resolveLaunch('C:\\Program Files\\My App\\app.exe -tray', c)).toEqual({
      path: 'C:\\Program Files\\My App\\app.exe',
      found: true,
      via: null,
    });
    // the classic hijack: C:\Program.exe exists and wins
    const hijacked = ctx('C:\\Program.exe', 'C:\\Program Files\\My App\\app.exe');
    expect(resolveLaunch('C:\\Program Files\\My App\\app.exe -tray', hijacked).path).toBe('C:\\Program.exe');
    // .exe is added to a word without extension
    expect(resolveLaunch('C:\\Program Files\\My App\\app -tray', c).path).toBe('C:\\Program Files\\My App\\app.exe');
  });

  it('expands environment variables first', () => {
    expect(
      resolveLaunch('%PUBLIC%\\My Tools\\helper.exe --tray', ctx('C:\\Users\\Public\\My Tools\\helper.exe')).path,
    ).toBe('C:\\Users\\Public\\My Tools\\helper.exe');
  });

  it('searches a bare name in System32, the Windows folder and PATH', () => {
    expect(resolveLaunch('explorer.exe', ctx('C:\\Windows\\explorer.exe')).path).toBe('C:\\Windows\\explorer.exe');
    expect(
      resolveLaunch('explorer', ctx('C:\\Windows\\System32\\explorer.exe', 'C:\\Windows\\explorer.exe')).path,
    ).toBe('C:\\Windows\\System32\\explorer.exe');
    expect(resolveLaunch('tool.exe /x', ctx('C:\\Tools\\bin\\tool.exe')).path).toBe('C:\\Tools\\bin\\tool.exe');
  });

  it('reports a missing program as written, absolute, not found', () => {
    expect(resolveLaunch('"C:\\gone\\x" -a', ctx())).toEqual({ path: 'C:\\gone\\x.exe', found: false, via: null });
    expect(resolveLaunch('C:\\Program Files\\Gone App\\x.exe', ctx())).toEqual({
      path: 'C:\\Program.exe',
      found: false,
      via: null,
    });
  });

  it("reads the kernel's spellings of service and driver paths", () => {
    const c = ctx('C:\\Windows\\System32\\drivers\\evil.sys', 'C:\\Temp\\svc.exe');
    expect(resolveLaunch('\\SystemRoot\\System32\\drivers\\evil.sys', c).path).toBe(
      'C:\\Windows\\System32\\drivers\\evil.sys',
    );
    // (the path keeps the case it was written in: Windows paths are case-insensitive)
    expect(resolveLaunch('system32\\drivers\\evil.sys', c).path).toBe('C:\\Windows\\system32\\drivers\\evil.sys');
    expect(resolveLaunch('\\??\\C:\\Temp\\svc.exe', c).path).toBe('C:\\Temp\\svc.exe');
    expect(plainPath('\\Temp\\svc.exe', { env: ENV, isFile: () => false })).toBe('C:\\Temp\\svc.exe');
  });

  it('looks through launchers to the file they run, and says which launcher', () => {
    const c = ctx(
      'C:\\Windows\\System32\\rundll32.exe',
      'C:\\Windows\\System32\\cmd.exe',
      'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
      'C:\\Windows\\System32\\wscript.exe',
      'C:\\Windows\\System32\\regsvr32.exe',
      'C:\\Users\\Public\\evil.dll',
      'C:\\Users\\Public\\run me.bat',
      'C:\\Users\\Public\\x.ps1',
      'C:\\Users\\Public\\y.vbs',
      'C:\\Users\\Public\\bad dir\\z.dll',
    );
    expect(resolveLaunch('rundll32.exe C:\\Users\\Public\\evil.dll,Start', c)).toEqual({
      path: 'C:\\Users\\Public\\evil.dll',
      found: true,
      via: 'rundll32.exe',
    });
    expect(resolveLaunch('rundll32 "C:\\Users\\Public\\bad dir\\z.dll",#1', c).path).toBe(
      'C:\\Users\\Public\\bad dir\\z.dll',
    );
    expect(resolveLaunch('rundll32.exe C:\\Users\\Public\\evil,Start', c).path).toBe('C:\\Users\\Public\\evil.dll');
    expect(resolveLaunch('cmd.exe /c "C:\\Users\\Public\\run me.bat" arg', c)).toEqual({
      path: 'C:\\Users\\Public\\run me.bat',
      found: true,
      via: 'cmd.exe',
    });
    expect(resolveLaunch('cmd /C "C:\\Users\\Public\\run me.bat arg"', c).path).toBe('C:\\Users\\Public\\run me.bat');
    expect(resolveLaunch('cmd /c rundll32.exe C:\\Users\\Public\\evil.dll,Start', c)).toEqual({
      path: 'C:\\Users\\Public\\evil.dll',
      found: true,
      via: 'cmd.exe',
    });
    expect(
      resolveLaunch(
        'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NoP -W Hidden -File C:\\Users\\Public\\x.ps1',
        c,
      ).path,
    ).toBe('C:\\Users\\Public\\x.ps1');
    expect(resolveLaunch('wscript.exe //B C:\\Users\\Public\\y.vbs', c)).toMatchObject({
      path: 'C:\\Users\\Public\\y.vbs',
      via: 'wscript.exe',
    });
    expect(resolveLaunch('regsvr32 /s /u C:\\Users\\Public\\evil.dll', c).path).toBe('C:\\Users\\Public\\evil.dll');
    // a launcher with no file of its own (inline PowerShell) is reported as itself
    expect(resolveLaunch('%SystemRoot%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -enc SQBFAFgA', c)).toEqual({
      path: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
      found: true,
      via: null,
    });
  });

  it('splits arguments and lists', () => {
    expect(splitArguments('a "b c" d""e')).toEqual(['a', 'b c', 'de']);
    expect(splitList('C:\\Windows\\system32\\userinit.exe, C:\\x.exe,', /,/)).toEqual([
      'C:\\Windows\\system32\\userinit.exe',
      'C:\\x.exe',
    ]);
    expect(splitList('a.dll b.dll,c.dll', /[\s,]+/)).toEqual(['a.dll', 'b.dll', 'c.dll']);
  });
});

describe('unusual service and task locations', () => {
  it('flags binaries outside the Windows and Program Files folders', () => {
    expect(isUnusualLocation('C:\\Windows\\System32\\svchost.exe', ENV)).toBe(false);
    expect(isUnusualLocation('c:\\program files\\Vendor\\svc.exe', ENV)).toBe(false);
    expect(isUnusualLocation('C:\\Users\\Public\\svc.exe', ENV)).toBe(true);
    expect(isUnusualLocation('C:\\ProgramData\\svc.exe', ENV)).toBe(true);
    expect(isUnusualLocation('C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18\\MsMpEng.exe', ENV)).toBe(
      false,
    );
    // a folder whose name only starts like the Windows folder is not it
    expect(isUnusualLocation('C:\\WindowsUpdate\\svc.exe', ENV)).toBe(true);
  });
});

describe('services, tasks and Startup items as persistence entries', () => {
  const service = (name: string, execStart: string): ServiceInfo => ({
    name,
    kind: 'windows',
    state: 'running',
    subState: 'own_process',
    enabled: 'auto',
    unitPath: `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${name}`,
    execStart,
    description: name,
    account: 'LocalSystem',
  });
  const noDll = () => null;

  it('keeps services whose binary is outside the usual folders, with where and how they start', () => {
    const c = ctx('C:\\Windows\\System32\\spoolsv.exe', 'C:\\ProgramData\\upd\\svc.exe');
    expect(serviceEntry(service('Spooler', 'C:\\Windows\\System32\\spoolsv.exe'), c, noDll)).toBeNull();
    const e = serviceEntry(service('Upd', '"C:\\ProgramData\\upd\\svc.exe" -k'), c, noDll);
    expect(e).toMatchObject({
      category: 'service',
      owner: 'LocalSystem',
      command: '"C:\\ProgramData\\upd\\svc.exe" -k',
      launch: { path: 'C:\\ProgramData\\upd\\svc.exe', found: true },
    });
    expect(e!.location).toBe('HKLM\\SYSTEM\\CurrentControlSet\\Services\\Upd\\ImagePath (Upd: auto, running)');
    // disabled and stopped (remediated): it starts no more; disabled but still running: still shown
    expect(
      serviceEntry(
        { ...service('Upd', '"C:\\ProgramData\\upd\\svc.exe" -k'), enabled: 'disabled', state: 'stopped' },
        c,
        noDll,
      ),
    ).toBeNull();
    expect(
      serviceEntry(
        { ...service('Upd', '"C:\\ProgramData\\upd\\svc.exe" -k'), enabled: 'disabled', state: 'running' },
        c,
        noDll,
      ),
    ).not.toBeNull();
  });

  it('looks into svchost services: their ServiceDll is what persists', () => {
    const c = ctx(
      'C:\\Windows\\System32\\svchost.exe',
      'C:\\Users\\Public\\evil.dll',
      'C:\\Windows\\System32\\good.dll',
    );
    const svchost = service('Evil', '%SystemRoot%\\System32\\svchost.exe -k netsvcs');
    const keys: string[] = [];
    const e = serviceEntry(svchost, c, (key) => {
      keys.push(key);
      return '%PUBLIC%\\evil.dll';
    });
    expect(keys).toEqual(['SYSTEM\\CurrentControlSet\\Services\\Evil']);
    expect(e).toMatchObject({
      command: '%PUBLIC%\\evil.dll',
      launch: { path: 'C:\\Users\\Public\\evil.dll', via: 'svchost.exe' },
    });
    expect(e!.location).toMatch(/\\Services\\Evil\\Parameters\\ServiceDll \(Evil: auto, running\)$/);
    expect(serviceEntry(svchost, c, () => '%SystemRoot%\\System32\\good.dll')).toBeNull();
  });

  it('keeps tasks outside \\Microsoft\\ and Microsoft tasks that run something unusual', () => {
    const task = (name: string, command: string, enabled = true): ScheduledTaskInfo => ({
      kind: 'windows-task',
      source: `C:\\Windows\\System32\\Tasks${name}`,
      user: 'S-1-5-18',
      schedule: 'at logon',
      command,
      line: null,
      name,
      enabled,
    });
    const c = ctx('C:\\Windows\\System32\\defrag.exe', 'C:\\Users\\Public\\t.exe');
    expect(
      taskEntry(task('\\Microsoft\\Windows\\Defrag\\ScheduledDefrag', '%SystemRoot%\\System32\\defrag.exe -c'), c),
    ).toBeNull();
    expect(taskEntry(task('\\Microsoft\\Windows\\Fake', 'C:\\Users\\Public\\t.exe'), c)).toMatchObject({
      category: 'scheduled-task',
      launch: { path: 'C:\\Users\\Public\\t.exe' },
    });
    const own = taskEntry(task('\\Updater', 'C:\\Windows\\System32\\defrag.exe', false), c);
    expect(own).toMatchObject({
      owner: 'S-1-5-18',
      location: 'task \\Updater (C:\\Windows\\System32\\Tasks\\Updater, disabled)',
    });
  });

  it('keeps every Startup folder item, a shortcut by its target', () => {
    const c = ctx(
      'C:\\Users\\Public\\t.exe',
      'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\StartUp\\x.bat',
    );
    const lnk = startupEntry(
      {
        kind: 'startup-folder',
        path: 'C:\\Users\\bob\\Startup\\t.lnk',
        name: 't.lnk',
        exec: 'C:\\Users\\Public\\t.exe -hidden',
        owner: 'bob',
        mtime: '',
      },
      c,
    );
    expect(lnk).toMatchObject({
      category: 'startup-folder',
      owner: 'bob',
      launch: { path: 'C:\\Users\\Public\\t.exe', found: true },
    });
    const bat = 'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\StartUp\\x.bat';
    expect(
      startupEntry({ kind: 'startup-folder', path: bat, name: 'x.bat', exec: null, owner: 'All Users', mtime: '' }, c)
        .launch,
    ).toMatchObject({ path: bat, found: true });
  });
});
