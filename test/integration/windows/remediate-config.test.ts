// remediate / undo of Windows configuration on an agent under Wine: Run values (REG_SZ, REG_EXPAND_SZ,
// REG_BINARY) planted with Wine's reg.exe, a service created with sc.exe (auto, delayed), a running Wine
// service, and a task definition planted in the task store as Windows writes it (UTF-16 LE with a BOM). Each
// is found by `persistence`, remediated, gone (or disabled and stopped), and put back by `undo` exactly as
// before — checked outside the agent: reg.exe's output, sc.exe's state, the task file's SHA-256 on the host.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from '../harness.js';
import { describeNeeds } from '../../needs.js';
import {
  addWindowsAgent,
  hostDir,
  createWinePrefix,
  windowsRuntime,
  wineProblem,
  type WindowsAgent,
  type WinePrefix,
} from '../wine.js';

interface Rec {
  id: string;
  type: string;
  target: string;
  state: string;
  paths: string[];
  actions: string[];
  restoreNotes: string[];
}
interface Persist {
  category: string;
  path: string;
  detail: string | null;
}

const RUN = 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';
const TASK_CACHE = 'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache';
const TASK_ID = '{6E1A3E2B-7F3C-4B4D-9E1A-2B3C4D5E6F70}';
const DEVICE = 'winfix';

/** A task as the Task Scheduler writes it (UTF-16 LE, BOM, CRLF), launching the planted dropper. */
const TASK = [
  '<?xml version="1.0" encoding="UTF-16"?>',
  '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
  '  <RegistrationInfo><Author>WINFIX\\intruder</Author><URI>\\LrTest\\Updater</URI></RegistrationInfo>',
  '  <Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers>',
  '  <Principals><Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal></Principals>',
  '  <Settings><Enabled>true</Enabled><Hidden>true</Hidden></Settings>',
  '  <Actions Context="Author"><Exec><Command>C:\\Users\\Public\\dropper.exe</Command><Arguments>-silent</Arguments></Exec></Actions>',
  '</Task>',
  '',
].join('\r\n');

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describeNeeds(wineProblem())(
  'remediate / undo of services, scheduled tasks and registry values on a Windows agent under Wine',
  () => {
    let w: World;
    let prefix: WinePrefix;
    let agent: WindowsAgent;
    let basic: string;

    const tool = async (program: string, args: string[]) => {
      const r = await prefix.exec(program, args);
      if (r.code !== 0) throw new Error(`${program} ${args.join(' ')} failed (${r.code}): ${r.stdout} ${r.stderr}`);
      return r.stdout;
    };
    /** reg query's text of one value (type and data as reg.exe prints them), or null when it is missing. */
    const regQuery = async (key: string, value?: string) => {
      const r = await prefix.exec('reg', value === undefined ? ['query', key] : ['query', key, '/v', value]);
      return r.code === 0 ? r.stdout : null;
    };
    /** reg query /s: a key with everything below it. */
    const regTree = async (key: string) => (await prefix.exec('reg', ['query', key, '/s'])).stdout;
    const exec = async (line: string, profile?: string) => {
      const r = await w.lr(['exec', DEVICE, line, '--json'], profile);
      const out = JSON.parse(r.stdout) as { status: string; error: string | null; records: Rec[] };
      return { ...out, code: r.code, stderr: r.stderr };
    };
    const ok = async (line: string): Promise<Rec> => {
      const r = await exec(line);
      expect(r.error, line).toBeNull();
      expect(r.status, line).toBe('completed');
      expect(r.records, line).toHaveLength(1);
      return r.records[0]!;
    };
    /** The one-line refusal of a command. */
    const refused = async (line: string, profile?: string): Promise<string> => {
      const r = await w.lr(['exec', DEVICE, line], profile);
      expect(r.code, line).not.toBe(0);
      const text = r.stderr.trim();
      expect(text.split('\n'), line).toHaveLength(1);
      return text;
    };
    const persistence = async () => {
      const r = await w.lr(['exec', DEVICE, 'persistence -output json']);
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as Persist[];
    };

    beforeAll(async () => {
      const nodeExe = await windowsRuntime();
      w = await createWorld();
      prefix = await createWinePrefix(w.dir);
      agent = await addWindowsAgent(w, prefix, nodeExe, DEVICE);
      basic = await w.addUser('bea', 'basic');
      writeFileSync(join(hostDir(prefix, 'C:\\Users\\Public'), 'dropper.exe'), 'MZ dropper payload');
    }, 240_000);
    afterAll(async () => {
      await agent?.stop();
      await prefix?.kill();
      await w?.cleanup();
    });

    it('registry: three Run values of three types are removed and put back with the same type and bytes', async () => {
      await tool('reg', ['add', RUN, '/v', 'Updater', '/t', 'REG_SZ', '/d', 'C:\\Users\\Public\\dropper.exe -q', '/f']);
      await tool('reg', [
        'add',
        RUN,
        '/v',
        'Expander',
        '/t',
        'REG_EXPAND_SZ',
        '/d',
        '%PUBLIC%\\dropper.exe --tray',
        '/f',
      ]);
      await tool('reg', ['add', RUN, '/v', 'Blob', '/t', 'REG_BINARY', '/d', '00ff10ab7f', '/f']);
      const before = await regQuery(RUN);
      expect(before).toMatch(/Updater\s+REG_SZ\s+C:\\Users\\Public\\dropper\.exe -q/);
      expect(before).toMatch(/Expander\s+REG_EXPAND_SZ\s+%PUBLIC%\\dropper\.exe --tray/);
      expect(before).toMatch(/Blob\s+REG_BINARY\s+00FF10AB7F/i);
      expect((await persistence()).some((p) => p.category === 'run-key' && /\\Run\\Updater/.test(p.detail ?? ''))).toBe(
        true,
      );

      for (const name of ['Updater', 'Expander', 'Blob']) {
        const r = await ok(`remediate registry ${RUN}\\\\${name}`);
        expect(r).toMatchObject({ type: 'registry', target: `${RUN}\\\\${name}`, state: 'remediated' });
        expect(r.actions[0]).toMatch(new RegExp(`\\\\${name} deleted \\(type \\d+, \\d+ bytes kept for undo\\)$`));
        expect(await regQuery(RUN, name)).toBeNull();
      }
      expect((await persistence()).some((p) => /\\Run\\(Updater|Expander)/.test(p.detail ?? ''))).toBe(false);

      for (const name of ['Updater', 'Expander', 'Blob']) {
        const r = await ok(`undo registry ${RUN}\\\\${name}`);
        expect(r).toMatchObject({
          state: 'restored',
          restoreNotes: [expect.stringMatching(new RegExp(`\\\\${name} restored \\(type \\d+, \\d+ bytes\\)$`))],
        });
      }
      // reg.exe lists values in the order they were written: compare each value's line
      const after = await regQuery(RUN);
      const lines = (t: string | null) =>
        (t ?? '')
          .split(/\r?\n/)
          .filter((l) => /\s(Updater|Expander|Blob)\s/.test(l))
          .sort();
      expect(lines(after)).toEqual(lines(before));
      expect(lines(after)).toHaveLength(3);
      // a second undo finds nothing; the value exists again, so a new remediation of it works again
      expect(await refused(`undo registry ${RUN}\\\\Updater`)).toMatch(
        /undo: nothing to undo: no registry .*Updater in the quarantine/,
      );
    }, 90_000);

    it('service: an auto, delayed service is disabled and undo restores its exact start type; a running one is stopped and started again', async () => {
      await tool('sc', ['create', 'lrevil', 'binPath=', 'C:\\Users\\Public\\dropper.exe', 'start=', 'auto']);
      await tool('reg', [
        'add',
        'HKLM\\System\\CurrentControlSet\\Services\\lrevil',
        '/v',
        'DelayedAutostart',
        '/t',
        'REG_DWORD',
        '/d',
        '1',
        '/f',
      ]);
      const key = 'HKLM\\System\\CurrentControlSet\\Services\\lrevil';
      const startBefore = await regQuery(key, 'Start');
      const delayedBefore = await regQuery(key, 'DelayedAutostart');
      expect(startBefore).toMatch(/Start\s+REG_DWORD\s+0x2/);
      expect((await persistence()).some((p) => p.category === 'service' && /lrevil/.test(p.detail ?? ''))).toBe(true);

      const r = await ok('remediate service lrevil');
      expect(r).toMatchObject({ type: 'service', target: 'lrevil', state: 'remediated' });
      expect(r.actions).toEqual([
        'service lrevil disabled (was auto (delayed))',
        'service lrevil was not running',
        'its binary is not quarantined (remediate file does that)',
      ]);
      expect(await regQuery(key, 'Start')).toMatch(/Start\s+REG_DWORD\s+0x4/);
      // disabled and stopped, it starts no more: not persistence (services still lists it)
      expect((await persistence()).some((p) => p.category === 'service' && /lrevil/.test(p.detail ?? ''))).toBe(false);

      const u = await ok('undo service lrevil');
      expect(u.restoreNotes).toEqual([
        'service lrevil set back to auto (delayed)',
        'service lrevil not started: it was not running when it was remediated',
      ]);
      expect(await regQuery(key, 'Start')).toBe(startBefore);
      expect(await regQuery(key, 'DelayedAutostart')).toBe(delayedBefore);

      // A Wine service that really runs (demand start): started here, so "was running" is true.
      await tool('sc', ['start', 'wuauserv']);
      expect(await tool('sc', ['query', 'wuauserv'])).toMatch(/RUNNING/);
      const wuStart = await regQuery('HKLM\\System\\CurrentControlSet\\Services\\wuauserv', 'Start');
      const s = await ok('remediate service wuauserv');
      expect(s.actions.slice(0, 2)).toEqual(['service wuauserv disabled (was demand)', 'service wuauserv stopped']);
      expect(await tool('sc', ['query', 'wuauserv'])).toMatch(/STOPPED/);
      expect(await regQuery('HKLM\\System\\CurrentControlSet\\Services\\wuauserv', 'Start')).toMatch(/0x4/);
      const su = await ok('undo service wuauserv');
      expect(su.restoreNotes).toEqual([
        'service wuauserv set back to demand',
        'service wuauserv started again (it was running)',
      ]);
      expect(await tool('sc', ['query', 'wuauserv'])).toMatch(/RUNNING/);
      expect(await regQuery('HKLM\\System\\CurrentControlSet\\Services\\wuauserv', 'Start')).toBe(wuStart);
    }, 90_000);

    it('scheduledtask: the task file goes to the quarantine and comes back byte-exact', async () => {
      const dir = hostDir(prefix, 'C:\\Windows\\System32\\Tasks\\LrTest');
      const file = join(dir, 'Updater');
      writeFileSync(file, Buffer.from(`\uFEFF${TASK}`, 'utf16le'));
      const hash = sha256(file);
      // Windows registers a task in the TaskCache too (Wine keeps none): planted as Windows lays it out.
      const tree = `${TASK_CACHE}\\Tree\\LrTest\\Updater`;
      const cached = `${TASK_CACHE}\\Tasks\\${TASK_ID}`;
      await tool('reg', ['add', tree, '/v', 'Id', '/t', 'REG_SZ', '/d', TASK_ID, '/f']);
      await tool('reg', ['add', tree, '/v', 'Index', '/t', 'REG_DWORD', '/d', '3', '/f']);
      await tool('reg', ['add', tree, '/v', 'SD', '/t', 'REG_BINARY', '/d', '010004800000000000000000', '/f']);
      await tool('reg', ['add', cached, '/v', 'Path', '/t', 'REG_SZ', '/d', '\\LrTest\\Updater', '/f']);
      await tool('reg', [
        'add',
        cached,
        '/v',
        'Actions',
        '/t',
        'REG_BINARY',
        '/d',
        '03000c0000004100750074006800',
        '/f',
      ]);
      await tool('reg', ['add', cached, '/v', 'Triggers', '/t', 'REG_BINARY', '/d', '17000000000000000100', '/f']);
      await tool('reg', ['add', `${TASK_CACHE}\\Logon\\${TASK_ID}`, '/f']);
      const cacheBefore = await regTree(TASK_CACHE);
      expect(cacheBefore).toMatch(/Actions\s+REG_BINARY\s+0300/i);
      const found = (p: Persist[]) =>
        p.some((x) => x.category === 'scheduled-task' && /task \\LrTest\\Updater/.test(x.detail ?? ''));
      expect(found(await persistence())).toBe(true);

      const r = await ok('remediate scheduledtask \\LrTest\\Updater');
      expect(r).toMatchObject({ type: 'scheduledtask', target: '\\LrTest\\Updater', state: 'remediated' });
      expect(r.paths).toHaveLength(1);
      expect(r.paths[0]!.toLowerCase()).toBe('c:\\windows\\system32\\tasks\\lrtest\\updater');
      expect(r.actions.at(-2)).toBe(
        'task \\LrTest\\Updater removed from the task store (its definition is in the quarantine)',
      );
      // 6 values planted (Wine's reg add also gives a created key an empty default value: 7 where it does)
      const taken = /; (\d+) values kept for undo\)/.exec(r.actions.at(-1)!)?.[1];
      expect(Number(taken)).toBeGreaterThanOrEqual(6);
      expect(r.actions.at(-1)).toBe(
        `its TaskCache keys deleted (Tree\\LrTest\\Updater, Tasks\\${TASK_ID}, Logon\\${TASK_ID}; ${taken} values kept for undo); a running Task Scheduler service may keep the task it loaded until it restarts`,
      );
      expect(existsSync(file)).toBe(false);
      expect(await regQuery(tree)).toBeNull();
      expect(await regQuery(cached)).toBeNull();
      expect(await regQuery(`${TASK_CACHE}\\Logon\\${TASK_ID}`)).toBeNull();
      expect(await regQuery(`${TASK_CACHE}\\Tree\\LrTest`)).not.toBeNull(); // the folder's key stays
      expect(found(await persistence())).toBe(false);

      const u = await ok('undo scheduledtask \\LrTest\\Updater');
      expect(u.state).toBe('restored');
      expect(u.restoreNotes[0]).toBe(`its TaskCache keys restored (3 keys, ${taken} values)`);
      expect(u.restoreNotes.at(-1)).toBe('task \\LrTest\\Updater is back in the task store');
      expect(sha256(file)).toBe(hash);
      expect(await regTree(TASK_CACHE)).toBe(cacheBefore);
      expect(found(await persistence())).toBe(true);
    }, 60_000);

    it('refuses in one line: a vital service, a key without value, a missing value, Userinit, a Windows task, a basic user', async () => {
      expect(await refused('remediate service RpcSs')).toMatch(
        /remediate: service RpcSs: refused: Windows \(or the agent\) needs it$/,
      );
      expect(await refused('remediate service rpcss')).toMatch(/refused: Windows \(or the agent\) needs it$/);
      expect(await refused('remediate service nosuchsvc')).toMatch(
        /remediate: service: no service nosuchsvc \(see services\)$/,
      );
      expect(await refused(`remediate registry ${RUN}`)).toMatch(
        /remediate: registry: HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run is a key: give KEY\\\\VALUE \(keys are never deleted whole\)$/,
      );
      expect(await refused(`remediate registry ${RUN}\\\\NoSuchValue`)).toMatch(
        /remediate: registry: .*\\Run\\\\NoSuchValue: value not found$/,
      );
      expect(
        await refused(
          'remediate registry "HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\\\Userinit"',
        ),
      ).toMatch(/refused: Windows needs it to log on \(nothing was changed\)$/);
      expect(await refused('remediate registry HKXX\\Foo\\\\Bar')).toMatch(
        /remediate: registry: HKXX\\Foo\\\\Bar: unknown hive HKXX/,
      );
      expect(await refused('remediate scheduledtask \\LrTest\\NoSuchTask')).toMatch(
        /remediate: scheduledtask: \\LrTest\\NoSuchTask: .*\(see scheduledtasks\)$/,
      );
      expect(await refused('remediate scheduledtask \\LrTest\\..\\..\\win.ini')).toMatch(
        /is not a task name component$/,
      );
      const msDir = hostDir(prefix, 'C:\\Windows\\System32\\Tasks\\Microsoft\\Windows\\LrDefrag');
      writeFileSync(
        join(msDir, 'Defrag'),
        Buffer.from(
          `\uFEFF${TASK.replace('C:\\Users\\Public\\dropper.exe', 'C:\\Windows\\System32\\defrag.exe')}`,
          'utf16le',
        ),
      );
      expect(await refused('remediate scheduledtask \\Microsoft\\Windows\\LrDefrag\\Defrag')).toMatch(
        /refused: a Windows task whose program is in the Windows or Program Files folders$/,
      );
      expect(existsSync(join(msDir, 'Defrag'))).toBe(true);
      expect(await refused(`remediate registry ${RUN}\\\\Updater`, basic)).toBe(
        'lr: remediate: refused: needs the advanced role (you are basic)',
      );
      expect(await regQuery(RUN, 'Updater')).not.toBeNull();
      // the refusals left nothing in the quarantine
      const list = await exec('remediate list');
      expect(list.records.filter((e) => e.state === 'remediated')).toEqual([]);
    }, 60_000);

    describe('after all of it', () => {
      it('the agent still answers', async () => {
        const r = await w.lr(['exec', DEVICE, 'dir C:/windows -output json']);
        expect(r.stderr).toBe('');
      }, 30_000);
    });
  },
);
