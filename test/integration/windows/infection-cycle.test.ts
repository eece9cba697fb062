// A planted infection on a Windows agent under Wine, cleaned and put back: a dropper in C:\Users\Public, a Run
// value, a service and a scheduled task launching it, and a shortcut in the all-users Startup folder (written by
// Wine's own shell32). `persistence` finds all four; each is remediated; `persistence` no longer finds them; each
// is undone; then the dropper's bytes, the Run value (type and data), the service's start type, the task file and
// the shortcut are what they were — read outside the agent (Wine's reg.exe, the prefix's files on the host).
// Every action is in the command log under the analyst's name, and a basic user is refused each.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
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

const DEVICE = 'wininfected';
const DROPPER = 'C:\\Users\\Public\\dropper.exe';
const RUN = 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';
const STARTUP = 'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\StartUp';
const TASK = [
  '<?xml version="1.0" encoding="UTF-16"?>',
  '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
  '  <RegistrationInfo><Author>intruder</Author></RegistrationInfo>',
  '  <Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers>',
  `  <Actions Context="Author"><Exec><Command>${DROPPER}</Command><Arguments>-task</Arguments></Exec></Actions>`,
  '</Task>',
  '',
].join('\r\n');

interface Persist {
  category: string;
  path: string;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describeNeeds(wineProblem())('a planted infection on a Windows agent: found, remediated, undone byte-exact', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;
  let basic: string;
  const files: Record<string, string> = {};

  const reg = async (args: string[]) => (await prefix.exec('reg', args)).stdout;
  const outside = async () => ({
    dropper: sha256(files.dropper!),
    task: sha256(files.task!),
    shortcut: sha256(files.shortcut!),
    run: await reg(['query', RUN, '/v', 'Updater']),
    service: await reg(['query', 'HKLM\\System\\CurrentControlSet\\Services\\lrdropper', '/v', 'Start']),
  });
  const lr = (line: string, profile?: string) => w.lr(['exec', DEVICE, line], profile);
  const ok = async (line: string) => {
    const r = await lr(line);
    expect(r.stderr, line).toBe('');
    expect(r.code, line).toBe(0);
  };
  const infection = async () => {
    const r = await lr('persistence -output json');
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as Persist[])
      .filter((p) => p.path.toLowerCase() === DROPPER.toLowerCase())
      .map((p) => p.category)
      .sort();
  };

  beforeAll(async () => {
    const nodeExe = await windowsRuntime();
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
    files.dropper = join(hostDir(prefix, 'C:\\Users\\Public'), 'dropper.exe');
    writeFileSync(files.dropper, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(4096, 0x90)]));
    files.task = join(hostDir(prefix, 'C:\\Windows\\System32\\Tasks'), 'LrUpdater');
    writeFileSync(files.task, Buffer.from(`\uFEFF${TASK}`, 'utf16le'));
    const script = join(w.dir, 'shortcut.js');
    writeFileSync(
      script,
      [
        `var link = new ActiveXObject("WScript.Shell").CreateShortcut("${`${STARTUP}\\Updater.lnk`.replace(/\\/g, '\\\\')}");`,
        `link.TargetPath = "${DROPPER.replace(/\\/g, '\\\\')}";`,
        'link.Arguments = "-startup";',
        'link.Save();',
      ].join('\n'),
    );
    const made = await prefix.exec('cscript', ['//nologo', winPath(script)]);
    if (made.code !== 0) throw new Error(`cscript failed: ${made.stdout} ${made.stderr}`);
    files.shortcut = join(hostDir(prefix, STARTUP), 'Updater.lnk');
    for (const [program, args] of [
      ['reg', ['add', RUN, '/v', 'Updater', '/t', 'REG_SZ', '/d', `"${DROPPER}" -run`, '/f']],
      ['sc', ['create', 'lrdropper', 'binPath=', `${DROPPER} -service`, 'start=', 'auto']],
    ] as const) {
      const r = await prefix.exec(program, [...args]);
      if (r.code !== 0) throw new Error(`${program} failed: ${r.stdout} ${r.stderr}`);
    }
    agent = await addWindowsAgent(w, prefix, nodeExe, DEVICE);
    basic = await w.addUser('tier1', 'basic');
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  it('persistence finds the four; after remediate none; after undo everything is as it was, outside the agent', async () => {
    expect(await infection()).toEqual(['run-key', 'scheduled-task', 'service', 'startup-folder']);
    const before = await outside();
    expect(before.run).toMatch(/Updater\s+REG_SZ\s+"C:\\Users\\Public\\dropper\.exe" -run/);
    expect(before.service).toMatch(/Start\s+REG_DWORD\s+0x2/);

    await ok(`remediate registry "${RUN}\\\\Updater"`);
    await ok('remediate service lrdropper');
    await ok('remediate scheduledtask \\LrUpdater');
    await ok(`remediate -type startupfolder -id "${STARTUP}\\Updater.lnk"`);
    expect(await infection()).toEqual([]);
    // the service is still configured, disabled and stopped: `services` shows it
    const services = JSON.parse((await lr('services -output json')).stdout) as {
      name: string;
      enabled: string;
      state: string;
    }[];
    expect(services.find((s) => s.name === 'lrdropper')).toMatchObject({ enabled: 'disabled', state: 'stopped' });
    await ok(`remediate -type file -id "${DROPPER}"`);
    expect(await reg(['query', RUN, '/v', 'Updater'])).not.toMatch(/Updater/);

    await ok('undo file C:\\Users\\Public\\dropper.exe');
    await ok(`undo registry "${RUN}\\\\Updater"`);
    await ok('undo service lrdropper');
    await ok('undo scheduledtask \\LrUpdater');
    await ok(`undo startupfolder "${STARTUP}\\Updater.lnk"`);
    expect(await outside()).toEqual(before);
    expect(await infection()).toEqual(['run-key', 'scheduled-task', 'service', 'startup-folder']);
  }, 180_000);

  it('every action is in the command log under the analyst, and a basic user is refused each', async () => {
    const log = JSON.parse((await w.lr(['log', '--json', '--device', DEVICE, '--limit', '200'])).stdout) as {
      commandLine: string;
      status: string;
      user?: string;
      userName?: string;
    }[];
    const actions = log.filter((c) => /^(remediate|undo) /.test(c.commandLine));
    expect(actions).toHaveLength(10);
    for (const a of actions) expect(a.status, a.commandLine).toBe('completed');
    for (const line of [
      'remediate service lrdropper',
      `remediate registry "${RUN}\\\\Updater"`,
      'undo file C:\\Users\\Public\\dropper.exe',
      'isolate',
      'collect',
    ]) {
      const r = await lr(line, basic);
      expect(r.code, line).toBe(2);
      expect(r.stderr.trim(), line).toMatch(/refused: needs the advanced role \(you are basic\)$/);
    }
    expect(await infection()).toEqual(['run-key', 'scheduled-task', 'service', 'startup-folder']);
  }, 120_000);
});
