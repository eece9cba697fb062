// A Windows agent under Wine lists scheduled tasks from the task store (System32\Tasks) and the Startup folders'
// items (shortcuts read for their target), planted in the prefix: a task file as the Task Scheduler writes it
// (UTF-16 LE with a BOM), a broken task file, a shortcut written by Wine's own shell32 (WScript.Shell under
// cscript) in the all-users Startup folder, and a batch file in the user's Startup folder (reachable twice, the
// second time through a junction-like link that must not list it again).
import { readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorld, type World } from '../harness.js';
import { describeNeeds } from '../../needs.js';
import {
  addWindowsAgent,
  hostDir,
  createWinePrefix,
  windowsRuntime,
  winPath,
  wineProblem,
  type WindowsAgent,
  type WinePrefix,
} from '../wine.js';

const TASK = `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><Author>WINDEV\\intruder</Author><URI>\\LrTest\\Updater</URI></RegistrationInfo>
  <Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers>
  <Principals><Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal></Principals>
  <Settings><Enabled>true</Enabled><Hidden>true</Hidden></Settings>
  <Actions Context="Author"><Exec><Command>C:\\Users\\Public\\dropper.exe</Command><Arguments>-silent</Arguments></Exec></Actions>
</Task>`;

/**
 * A task of the Wine user (Wine names its user S-1-5-21-0-0-0-1000) with a logon trigger of an unknown SID, in UTF-8.
 */
const USER_TASK = `<?xml version="1.0" encoding="UTF-8"?>
<Task version="1.4" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <Triggers>
    <CalendarTrigger><StartBoundary>2024-01-01T09:00:00</StartBoundary><Repetition><Interval>PT5M</Interval></Repetition><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>
    <LogonTrigger><UserId>S-1-5-21-1-2-3-4242</UserId></LogonTrigger>
  </Triggers>
  <Principals><Principal id="Author"><UserId>S-1-5-21-0-0-0-1000</UserId><LogonType>InteractiveToken</LogonType></Principal></Principals>
  <Settings><Enabled>false</Enabled></Settings>
  <Actions Context="Author"><Exec><Command>C:\\Program Files\\Sync\\sync.exe</Command></Exec><ComHandler><ClassId>{01575CFE-9A55-4003-A5E1-F38D1EBDCBE1}</ClassId></ComHandler></Actions>
</Task>`;

describeNeeds(wineProblem())('scheduled tasks and Startup folders of a Windows agent under Wine', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;
  let wineUser: string;
  beforeAll(async () => {
    const nodeExe = await windowsRuntime();
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
    agent = await addWindowsAgent(w, prefix, nodeExe, 'windev');
    const tasks = hostDir(prefix, 'C:\\Windows\\System32\\Tasks\\LrTest');
    writeFileSync(join(tasks, 'Updater'), Buffer.from(`\uFEFF${TASK}`, 'utf16le'));
    writeFileSync(join(hostDir(prefix, 'C:\\Windows\\System32\\Tasks\\LrTest\\Nested'), 'AsUser'), USER_TASK);
    writeFileSync(join(tasks, 'Broken'), Buffer.from('\uFEFF<Task><Actions>', 'utf16le'));
    writeFileSync(join(hostDir(prefix, 'C:\\Users\\Public'), 'dropper.exe'), 'MZ');
    // The shortcut is written by Wine's shell32 (IShellLink through WScript.Shell), not by this test.
    const script = join(w.dir, 'shortcut.js');
    writeFileSync(
      script,
      [
        'var link = new ActiveXObject("WScript.Shell").CreateShortcut("C:\\\\ProgramData\\\\Microsoft\\\\Windows\\\\Start Menu\\\\Programs\\\\StartUp\\\\Updater.lnk");',
        'link.TargetPath = "C:\\\\Users\\\\Public\\\\dropper.exe";',
        'link.Arguments = "-silent";',
        'link.Save();',
      ].join('\n'),
    );
    const made = await prefix.exec('cscript', ['//nologo', winPath(script)]);
    if (made.code !== 0) throw new Error(`cscript failed: ${made.stdout} ${made.stderr}`);
    wineUser = readdirSync(join(prefix.dir, 'drive_c', 'users')).find((n) => n !== 'Public')!;
    const userStartup = hostDir(
      prefix,
      `C:\\Users\\${wineUser}\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup`,
    );
    writeFileSync(join(userStartup, 'run.bat'), '@echo off\r\nstart C:\\Users\\Public\\dropper.exe\r\n');
    writeFileSync(join(userStartup, 'desktop.ini'), '[.ShellClassInfo]\r\n');
    // Windows keeps junctions such as `Default User` in the profiles folder; Wine shows a host symbolic link as one.
    symlinkSync(wineUser, join(prefix.dir, 'drive_c', 'users', 'Default User'));
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  it('scheduledtasks reads the task store: the planted UTF-16 task with its fields, the broken one with its error', async () => {
    const r = await w.lr(['exec', 'windev', 'scheduledtasks -output json']);
    expect(r.stderr).toBe('');
    const tasks = JSON.parse(r.stdout) as Record<string, unknown>[];
    const task = tasks.find((t) => t.name === '\\LrTest\\Updater');
    expect(task).toMatchObject({
      kind: 'windows-task',
      user: 'NT AUTHORITY\\SYSTEM',
      schedule: 'at logon',
      command: 'C:\\Users\\Public\\dropper.exe -silent',
      enabled: true,
      author: 'WINDEV\\intruder',
      line: null,
    });
    expect(String(task!.source).toLowerCase()).toBe('c:\\windows\\system32\\tasks\\lrtest\\updater');
    expect(task!.error).toBeUndefined();
    // A SID Windows (here Wine) can name is named; one it cannot stays a SID.
    const asUser = tasks.find((t) => t.name === '\\LrTest\\Nested\\AsUser');
    expect(asUser).toMatchObject({
      schedule: 'daily at 09:00 from 2024-01-01, every 5 min; at logon of S-1-5-21-1-2-3-4242',
      command: '"C:\\Program Files\\Sync\\sync.exe" ; COM handler {01575CFE-9A55-4003-A5E1-F38D1EBDCBE1}',
      enabled: false,
      author: null,
    });
    expect(String(asUser!.user).toLowerCase()).toMatch(new RegExp(`^[^\\\\]+\\\\${wineUser.toLowerCase()}$`));
    const broken = tasks.find((t) => t.name === '\\LrTest\\Broken');
    expect(broken).toMatchObject({
      kind: 'windows-task',
      schedule: 'unreadable',
      error: 'not a valid task definition: line 1: <Actions> is not closed',
    });
  }, 60_000);

  it("startupfolders reads the all-users shortcut for its target and the user's batch file, without desktop.ini", async () => {
    const r = await w.lr(['exec', 'windev', 'startupfolders -output json']);
    expect(r.stderr).toBe('');
    const items = JSON.parse(r.stdout) as Record<string, unknown>[];
    const link = items.find((i) => i.name === 'Updater.lnk');
    expect(link).toMatchObject({
      kind: 'startup-folder',
      exec: 'C:\\Users\\Public\\dropper.exe -silent',
      owner: 'All Users',
    });
    expect(String(link!.path).toLowerCase()).toBe(
      'c:\\programdata\\microsoft\\windows\\start menu\\programs\\startup\\updater.lnk',
    );
    expect(Date.parse(String(link!.mtime))).toBeGreaterThan(Date.now() - 3_600_000);
    const bat = items.find((i) => i.name === 'run.bat');
    expect(bat).toMatchObject({ kind: 'startup-folder', owner: wineUser });
    expect(String(bat!.exec).toLowerCase()).toBe(
      `c:\\users\\${wineUser.toLowerCase()}\\appdata\\roaming\\microsoft\\windows\\start menu\\programs\\startup\\run.bat`,
    );
    expect(bat!.exec).toBe(bat!.path);
    expect(items.filter((i) => i.name === 'run.bat')).toHaveLength(1); // not again through the `Default User` junction
    expect(items.some((i) => String(i.name).toLowerCase() === 'desktop.ini')).toBe(false);
  }, 60_000);
});
