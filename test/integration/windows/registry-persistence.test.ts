// registry and persistence on a Windows agent under Wine: values of every type planted with Wine's reg.exe
// are read back through the Win32 API with their types and data; Run keys (HKLM and HKCU), an IFEO debugger
// and a changed Winlogon Userinit are found by `persistence` with the launched file resolved and hashed.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from '../harness.js';
import { describeNeeds } from '../../needs.js';
import {
  addWindowsAgent,
  createWinePrefix,
  windowsRuntime,
  wineProblem,
  type WindowsAgent,
  type WinePrefix,
} from '../wine.js';

interface RegRecord {
  key: string;
  kind: string;
  name: string;
  type: string | null;
  size: number | null;
  data: string | null;
  value: unknown;
  lastWrite: string | null;
}

interface Persist {
  category: string;
  path: string;
  owner: string;
  mtime: string | null;
  size: number | null;
  sha256: string | null;
  detail: string | null;
}

const TEST_KEY = 'HKCU\\Software\\LrRegTest';

describeNeeds(wineProblem())('registry and persistence on a Windows agent under Wine', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;

  const reg = async (args: string[]) => {
    const r = await prefix.exec('reg', args);
    if (r.code !== 0) throw new Error(`reg ${args.join(' ')} failed (${r.code}): ${r.stdout} ${r.stderr}`);
  };
  const exec = (line: string) => w.lr(['exec', 'winreg', line]);
  const json = async <T>(line: string): Promise<T[]> => {
    const r = await exec(`${line} -output json`);
    expect(r.stderr, line).toBe('');
    return JSON.parse(r.stdout) as T[];
  };

  beforeAll(async () => {
    const nodeExe = await windowsRuntime();
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
    agent = await addWindowsAgent(w, prefix, nodeExe, 'winreg');
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  it('shows the Windows version key with ProductName (full hive name, quoted key with spaces)', async () => {
    const records = await json<RegRecord>(
      'registry "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion"',
    );
    const product = records.find((r) => r.kind === 'value' && r.name === 'ProductName');
    expect(product).toMatchObject({ key: 'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion', type: 'REG_SZ' });
    expect(product!.data).toMatch(/Windows/);
    const sub = records.find((r) => r.kind === 'subkey' && r.name === 'Winlogon');
    expect(sub?.lastWrite).toMatch(/^\d{4}-\d\d-\d\dT/);
    // short name, forward slashes (`//` before the value), and the table output
    const table = await exec('registry "HKLM/Software/Microsoft/Windows NT/CurrentVersion//ProductName"');
    expect(table.stderr).toBe('');
    expect(table.stdout).toMatch(/ProductName.*REG_SZ.*Windows/);
  }, 60_000);

  it('reads values of every type with their types and data', async () => {
    // one Wine process each, run side by side
    await Promise.all([
      reg(['add', TEST_KEY, '/v', 'Sz', '/t', 'REG_SZ', '/d', 'hello world', '/f']),
      reg(['add', TEST_KEY, '/v', 'Expand', '/t', 'REG_EXPAND_SZ', '/d', '%SystemRoot%\\x.exe', '/f']),
      reg(['add', TEST_KEY, '/v', 'Multi', '/t', 'REG_MULTI_SZ', '/d', 'one\\0two\\0three', '/f']),
      reg(['add', TEST_KEY, '/v', 'Dword', '/t', 'REG_DWORD', '/d', '305419896', '/f']),
      reg(['add', TEST_KEY, '/v', 'Qword', '/t', 'REG_QWORD', '/d', '0x123456789abc', '/f']),
      reg(['add', TEST_KEY, '/v', 'Bin', '/t', 'REG_BINARY', '/d', '00ff10ab', '/f']),
    ]);
    await reg(['add', `${TEST_KEY}\\Child`, '/f']);

    const records = await json<RegRecord>(`registry ${TEST_KEY}`);
    const byName = new Map(records.map((r) => [r.name, r]));
    expect(byName.get('Child')).toMatchObject({ kind: 'subkey', type: null });
    expect(byName.get('Sz')).toMatchObject({
      kind: 'value',
      type: 'REG_SZ',
      value: 'hello world',
      data: 'hello world',
    });
    expect(byName.get('Expand')).toMatchObject({ type: 'REG_EXPAND_SZ', value: '%SystemRoot%\\x.exe' });
    expect(byName.get('Multi')).toMatchObject({ type: 'REG_MULTI_SZ', value: ['one', 'two', 'three'] });
    expect(byName.get('Dword')).toMatchObject({
      type: 'REG_DWORD',
      value: 0x12345678,
      data: '0x12345678 (305419896)',
      size: 4,
    });
    expect(byName.get('Qword')).toMatchObject({
      type: 'REG_QWORD',
      value: 0x123456789abc,
      data: '0x0000123456789abc (20015998343868)',
      size: 8,
    });
    expect(byName.get('Bin')).toMatchObject({ type: 'REG_BINARY', value: '00ff10ab', data: '00 ff 10 ab', size: 4 });

    // one value through the `\\` separator
    const one = await json<RegRecord>(`registry ${TEST_KEY}\\\\Dword`);
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ name: 'Dword', value: 0x12345678 });
  }, 90_000);

  it('answers bad input on one line each and keeps serving', async () => {
    // one session per device at a time: one command after the other
    const missing = await exec('registry HKLM\\Software\\NoSuchKeyHere');
    const hive = await exec('registry HKXX\\foo');
    const value = await exec(`registry ${TEST_KEY}\\\\NoSuchValue`);
    const long = await exec(`registry HKLM\\${'x'.repeat(300)}`);
    expect(missing.stderr.trim()).toMatch(/^.*registry: HKLM\\Software\\NoSuchKeyHere: not found$/);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(hive.stderr.trim()).toMatch(/registry: HKXX\\foo: unknown hive HKXX/);
    expect(hive.stderr.trim().split('\n')).toHaveLength(1);
    expect(value.stderr.trim()).toMatch(/registry: HKCU\\Software\\LrRegTest\\\\NoSuchValue: value not found/);
    expect(long.stderr.trim()).toMatch(/key name longer than 255 characters/);
    // still serving
    const next = await json<RegRecord>('registry HKLM\\Software');
    expect(next.some((r) => r.name === 'Microsoft')).toBe(true);
  }, 60_000);

  describe('persistence', () => {
    it('finds Run keys (HKLM and HKCU), an IFEO debugger and a changed Userinit, each resolved and hashed', async () => {
      const plant = (winPath: string, content: string) => {
        const host = prefix.hostOf(winPath);
        mkdirSync(dirname(host), { recursive: true });
        writeFileSync(host, content);
        return createHash('sha256').update(content).digest('hex');
      };
      const dropper = plant('C:\\users\\Public\\dropper.exe', 'MZ dropper payload');
      const userRun = plant('C:\\users\\Public\\My Tools\\helper.exe', 'MZ helper payload');
      const debuggerHash = plant('C:\\users\\Public\\dbg.exe', 'MZ debugger payload');
      const userinitHash = plant('C:\\users\\Public\\init2.exe', 'MZ userinit payload');
      const dllHash = plant('C:\\users\\Public\\evil.dll', 'MZ dll payload');

      await Promise.all([
        reg([
          'add',
          'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
          '/v',
          'Updater',
          '/t',
          'REG_SZ',
          '/d',
          '"C:\\users\\Public\\dropper.exe" -q',
          '/f',
        ]),
        // unquoted path with a space, resolved as CreateProcess would
        reg([
          'add',
          'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
          '/v',
          'Helper',
          '/t',
          'REG_EXPAND_SZ',
          '/d',
          '%PUBLIC%\\My Tools\\helper.exe --tray',
          '/f',
        ]),
        reg([
          'add',
          'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\sethc.exe',
          '/v',
          'Debugger',
          '/t',
          'REG_SZ',
          '/d',
          'C:\\users\\Public\\dbg.exe',
          '/f',
        ]),
        reg([
          'add',
          'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon',
          '/v',
          'Userinit',
          '/t',
          'REG_SZ',
          '/d',
          'C:\\windows\\system32\\userinit.exe,C:\\users\\Public\\init2.exe',
          '/f',
        ]),
        // the 32-bit programs' view, through rundll32
        reg([
          'add',
          'HKLM\\Software\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run',
          '/v',
          'Legacy',
          '/t',
          'REG_SZ',
          '/d',
          'rundll32.exe C:\\users\\Public\\evil.dll,Start',
          '/f',
        ]),
        // a Run value naming the agent's own key file: listed, never read or hashed
        reg([
          'add',
          'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce',
          '/v',
          'Peek',
          '/t',
          'REG_SZ',
          '/d',
          `"${agent.dataDir}\\agent.json"`,
          '/f',
        ]),
        reg([
          'add',
          'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows',
          '/v',
          'AppInit_DLLs',
          '/t',
          'REG_SZ',
          '/d',
          'C:\\users\\Public\\evil.dll',
          '/f',
        ]),
      ]);

      const records = await json<Persist>('persistence');
      const find = (category: string, file: string) =>
        records.find((r) => r.category === category && r.path.toLowerCase() === file.toLowerCase());

      const run = find('run-key', 'C:\\users\\Public\\dropper.exe');
      expect(run, JSON.stringify(records, null, 1)).toBeDefined();
      expect(run).toMatchObject({ sha256: dropper, size: 18, owner: 'All Users' });
      expect(run!.detail).toBe(
        'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater = "C:\\users\\Public\\dropper.exe" -q',
      );
      expect(run!.mtime).toMatch(/^\d{4}-/);

      const user = find('run-key', 'C:\\users\\Public\\My Tools\\helper.exe');
      expect(user, JSON.stringify(records, null, 1)).toMatchObject({ sha256: userRun });
      expect(user!.detail).toMatch(
        /^HKU\\S-1-5-21-[\d-]+ \(HKCU\)\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Helper = %PUBLIC%\\My Tools\\helper.exe --tray$/,
      );

      // one record although Wine shows the key in both registry views
      expect(records.filter((r) => r.category === 'ifeo-debugger' && /sethc/.test(r.detail ?? ''))).toHaveLength(1);
      const ifeo = find('ifeo-debugger', 'C:\\users\\Public\\dbg.exe');
      expect(ifeo).toMatchObject({ sha256: debuggerHash });
      expect(ifeo!.detail).toMatch(/Image File Execution Options\\sethc\.exe\\Debugger = C:\\users\\Public\\dbg\.exe/);

      const init = find('winlogon', 'C:\\users\\Public\\init2.exe');
      expect(init).toMatchObject({ sha256: userinitHash });
      expect(init!.detail).toMatch(/Winlogon\\Userinit = /);
      const legacy = find('run-key', 'C:\\users\\Public\\evil.dll');
      expect(legacy).toMatchObject({ sha256: dllHash });
      expect(legacy!.detail).toBe(
        'HKLM\\Software\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run\\Legacy = rundll32.exe C:\\users\\Public\\evil.dll,Start; via rundll32.exe',
      );
      const appinit = find('appinit-dlls', 'C:\\users\\Public\\evil.dll');
      expect(appinit).toMatchObject({ sha256: dllHash, owner: 'All Users' });
      expect(appinit!.detail).toMatch(
        /^HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows\\AppInit_DLLs \(LoadAppInit_DLLs = \d\) = C:\\users\\Public\\evil\.dll$/,
      );

      const peek = find('runonce-key', `${agent.dataDir}\\agent.json`);
      expect(peek, JSON.stringify(records, null, 1)).toMatchObject({ sha256: null });
      expect(peek!.detail).toMatch(/; not read: it is in .*data folder$/);

      // Wine has no userinit.exe: the stock entry is listed, with no file facts
      const stock = find('winlogon', 'C:\\windows\\system32\\userinit.exe');
      expect(stock, JSON.stringify(records, null, 1)).toMatchObject({ sha256: null, size: null, mtime: null });
      expect(stock!.detail).toMatch(/; file not found$/);
      // Shell = explorer.exe: a bare name, found on the search path and hashed
      const shell = records.find(
        (r) => r.category === 'winlogon' && /\\Winlogon\\Shell = explorer\.exe$/.test(r.detail ?? ''),
      );
      expect(shell?.path, JSON.stringify(shell)).toMatch(/^C:\\windows\\(system32\\)?explorer\.exe$/i);
      expect(shell!.sha256).toMatch(/^[0-9a-f]{64}$/);
    }, 90_000);

    it('lists an unusual service, a task and a Startup item, each with the SHA-256 of the file it launches', async () => {
      const plant = (winPath: string, content: string) => {
        const host = prefix.hostOf(winPath);
        mkdirSync(dirname(host), { recursive: true });
        writeFileSync(host, content);
        return createHash('sha256').update(content).digest('hex');
      };
      const svc = 'C:\\users\\Public\\svc.exe';
      const task = 'C:\\users\\Public\\task.exe';
      const bat = 'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\StartUp\\lr-startup.bat';
      const hashes: Record<string, string> = {
        [svc]: plant(svc, 'MZ service payload'),
        [task]: plant(task, 'MZ task payload'),
        [bat]: plant(bat, '@echo off\r\n'),
      };
      // Wine's task scheduler keeps neither triggers nor actions of a task it registers (schtasks /create
      // writes an empty <Exec/>): the task file is planted in the task store as Windows writes it, UTF-16 with a BOM.
      const taskXml = [
        '<?xml version="1.0"?>',
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
        '<RegistrationInfo><Author>lr-test</Author></RegistrationInfo>',
        '<Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers>',
        '<Settings><Enabled>true</Enabled></Settings>',
        `<Actions Context="Author"><Exec><Command>${task}</Command><Arguments>-x</Arguments></Exec></Actions>`,
        '</Task>',
      ].join('\r\n');
      const taskFile = prefix.hostOf('C:\\windows\\system32\\tasks\\LrEvilTask');
      mkdirSync(dirname(taskFile), { recursive: true });
      writeFileSync(taskFile, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(taskXml, 'utf16le')]));
      const created = await prefix.exec('sc', ['create', 'LrEvilSvc', 'binpath=', svc, 'start=', 'auto']);
      expect(created.code).toBe(0);

      const records = await json<Persist>('persistence');
      const areas: Array<[string, string, string]> = [
        ['services', 'service', svc],
        ['scheduledtasks', 'scheduled-task', task],
        ['startupfolders', 'startup-folder', bat],
      ];
      for (const [command, category, file] of areas) {
        const listing = await exec(`${command} -output json`);
        expect(listing.stderr, command).not.toMatch(/live session/);
        expect(listing.code, command).toBe(0);
        const found = records.find((r) => r.category === category && r.path.toLowerCase() === file.toLowerCase());
        expect(found, `${command}: ${JSON.stringify(records.filter((r) => r.category === category))}`).toMatchObject({
          sha256: hashes[file],
        });
      }
    }, 90_000);
  });
});
