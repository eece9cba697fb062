// remediate / undo of files, processes and Startup items on a Windows agent under Wine: a planted hidden,
// read-only dropper with an old creation time is quarantined (both syntaxes) and put back byte-exact with
// its attributes, creation time and write time; planted node.exe processes (renamed evil.exe) are
// terminated by pid, by image name and as a tree; a Startup item goes and comes back; the agent's own files,
// boot files, the kernel's pid and UNC paths are refused in one line; a basic responder is refused.
//
// What Wine shows differently from Windows (asserted as Wine gives it):
// - Wine keeps no access lists (a DACL is mapped to Unix mode bits): the SDDL is read and written back, and
//   undo says so when it reads back differently, but its round trip proves nothing about real ACLs here.
// - Read-only is the host file's write permission (planted with chmod: Wine's attrib +r does not set it),
//   hidden/system an extended attribute (user.DOSATTRIB).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN, createWorld, ROOT, waitFor, type World } from '../harness.js';
import { describeNeeds } from '../../needs.js';
import {
  addWindowsAgent,
  createWinePrefix,
  windowsRuntime,
  wineProblem,
  winPath,
  WINE64,
  type WindowsAgent,
  type WinePrefix,
} from '../wine.js';

type Rec = Record<string, unknown>;
interface ExecJson {
  status: string;
  error: string | null;
  records: Rec[];
}

/** Reads (or sets, with a 4th argument: a FILETIME) attributes and creation time through the Win32 API. */
const PROBE = `
const koffi = require(process.argv[2]);
const k32 = koffi.load('kernel32.dll');
const get = k32.func('bool __stdcall GetFileAttributesExW(str16 name, int level, _Out_ uint8_t *info)');
const file = process.argv[3];
if (process.argv[5]) {
  const create = k32.func('void * __stdcall CreateFileW(str16 name, uint32 access, uint32 share, void *sa, uint32 disp, uint32 flags, void *t)');
  const setTime = k32.func('bool __stdcall SetFileTime(void *h, uint8_t *c, uint8_t *a, uint8_t *w)');
  const close = k32.func('bool __stdcall CloseHandle(void *h)');
  const h = create(file, 0x100, 7, null, 3, 0x02000000, null);
  const ft = Buffer.alloc(8); ft.writeBigUInt64LE(BigInt(process.argv[5]));
  if (!setTime(h, ft, null, null)) throw new Error('SetFileTime failed');
  close(h);
}
const info = Buffer.alloc(36);
if (!get(file, 0, info)) throw new Error('GetFileAttributesExW failed');
require('fs').writeFileSync(process.argv[4], JSON.stringify({ attributes: info.readUInt32LE(0), created: info.readBigUInt64LE(4).toString() }));
`;

/** A process that says its pid (and its child's, with a 4th argument: it starts a copy of itself). */
const SLEEPER = `
const fs = require('fs');
const [ready, withChild] = process.argv.slice(2);
if (withChild) {
  const childReady = ready + '.child';
  require('child_process').spawn(process.execPath, [__filename, childReady], { stdio: 'ignore' });
  const t = setInterval(() => {
    if (!fs.existsSync(childReady)) return;
    clearInterval(t);
    fs.writeFileSync(ready, JSON.stringify({ pid: process.pid, child: JSON.parse(fs.readFileSync(childReady, 'utf8')).pid }));
  }, 50);
} else fs.writeFileSync(ready, JSON.stringify({ pid: process.pid }));
setInterval(() => {}, 1e9);
`;

/**
 * prefix.hostOf with each existing component matched without regard to case, as Windows names it (Wine stores `users`).
 */
function hostPath(prefix: WinePrefix, file: string): string {
  const parts = file.replace(/^[A-Za-z]:\\/, '').split('\\');
  let at = prefix.hostOf('C:\\');
  for (const part of parts) {
    const found = existsSync(at) ? readdirSync(at).find((x) => x.toLowerCase() === part.toLowerCase()) : undefined;
    at = join(at, found ?? part);
  }
  return at;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
/** 2019-02-03T04:05:06.789Z plus 1234 ticks of 100 ns, as a FILETIME. */
const OLD_CREATION = (
  BigInt(Date.parse('2019-02-03T04:05:06.789Z')) * 10_000n +
  116_444_736_000_000_000n +
  1234n
).toString();
const OLD_WRITE = new Date('2020-06-07T08:09:10Z');
const HIDDEN = 0x2;
const READONLY = 0x1;

describeNeeds(wineProblem())('remediate and undo on a Windows agent under Wine', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;
  let nodeExe: string;
  let n = 0;
  const evil = 'C:\\Users\\Public\\evil.exe';

  const exec = async (line: string, profile?: string): Promise<ExecJson> => {
    const r = await w.lr(['exec', 'windev', line, '--json'], profile, { timeoutMs: 90_000 });
    return JSON.parse(r.stdout) as ExecJson;
  };
  const ok = async (line: string): Promise<Rec[]> => {
    const r = await exec(line);
    expect(r.error, line).toBeNull();
    expect(r.status, line).toBe('completed');
    return r.records;
  };
  const refused = async (line: string): Promise<string> => {
    const r = await exec(line);
    expect(r.status, `${line}: ${r.error}`).not.toBe('completed');
    expect(r.error).not.toContain('\n');
    return String(r.error);
  };

  /** Attributes and creation time (FILETIME) of a C:\ path, read (or set first) by a node.exe under Wine. */
  const probe = async (file: string, setCreated?: string): Promise<{ attributes: number; created: string }> => {
    const out = join(w.dir, `probe-${++n}.json`);
    const r = await prefix.exec(winPath(nodeExe), [
      winPath(join(w.dir, 'probe.cjs')),
      winPath(join(ROOT, 'node_modules', 'koffi')),
      file,
      winPath(out),
      ...(setCreated ? [setCreated] : []),
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return JSON.parse(readFileSync(out, 'utf8')) as { attributes: number; created: string };
  };

  /** Starts evil.exe (node.exe renamed) on the sleeper in the background; resolves with its pid(s). */
  const startEvil = async (withChild = false): Promise<{ pid: number; child?: number }> => {
    const ready = join(w.dir, `ready-${++n}.json`);
    spawn(
      'sh',
      [
        '-c',
        '"$0" "$@" >"$LR_OUT" 2>&1 </dev/null',
        WINE64,
        evil,
        winPath(join(w.dir, 'sleeper.cjs')),
        winPath(ready),
        ...(withChild ? ['child'] : []),
      ],
      {
        env: { ...process.env, ...prefix.env, LR_OUT: `${ready}.out` },
        stdio: 'ignore',
      },
    );
    return waitFor(
      `evil.exe ready (${ready})`,
      async () =>
        existsSync(ready) ? (JSON.parse(readFileSync(ready, 'utf8')) as { pid: number; child?: number }) : undefined,
      60_000,
    );
  };
  const running = async (): Promise<Set<number>> =>
    new Set(((await ok('processes')) as { pid: number }[]).map((p) => p.pid));

  /** Plants a hidden, read-only file with an old creation and write time; returns what undo must give back. */
  const plantDropper = async (file: string) => {
    const host = hostPath(prefix, file);
    writeFileSync(host, randomBytes(70_000));
    await probe(file, OLD_CREATION);
    utimesSync(host, OLD_WRITE, OLD_WRITE);
    // Hidden through Wine's attrib (an extended attribute), read-only as Wine maps it (no write permission).
    const attrib = await prefix.exec('cmd', ['/c', `attrib +h ${file}`]);
    expect(attrib.code, attrib.stdout + attrib.stderr).toBe(0);
    chmodSync(host, 0o444);
    const facts = await probe(file);
    expect(facts.attributes & (HIDDEN | READONLY)).toBe(HIDDEN | READONLY);
    return { host, sha: sha256(host), mtimeMs: statSync(host).mtimeMs, ...facts };
  };

  beforeAll(async () => {
    nodeExe = await windowsRuntime();
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
    agent = await addWindowsAgent(w, prefix, nodeExe, 'windev');
    writeFileSync(join(w.dir, 'probe.cjs'), PROBE);
    writeFileSync(join(w.dir, 'sleeper.cjs'), SLEEPER);
    copyFileSync(nodeExe, hostPath(prefix, evil));
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  it('quarantines a hidden read-only dropper and undo puts back bytes, attributes, creation and write time', async () => {
    const file = 'C:\\Users\\Public\\dropper.exe';
    const before = await plantDropper(file);
    const [rec] = await ok(`remediate file ${file}`);
    expect(rec).toMatchObject({ type: 'file', target: file, state: 'remediated', paths: [file] });
    expect((rec!.actions as string[]).join('\n')).toMatch(
      /kept for undo: attributes -arh--, created .*, security descriptor O:S-1-5-[^ ]+D:/,
    );
    expect(existsSync(before.host)).toBe(false);
    const list = await ok('remediate list');
    expect(list.find((e) => e.id === rec!.id)).toMatchObject({ target: file, state: 'remediated' });

    const [undone] = await ok(`undo file ${file}`);
    expect(undone).toMatchObject({ id: rec!.id, state: 'restored' });
    const notes = (undone!.restoreNotes as string[]).join('\n');
    // Wine reports the last write time as creation time (it cannot store one): the round trip checked is that value's.
    const created = new Date(Number((BigInt(before.created) - 116_444_736_000_000_000n) / 10_000n)).toISOString();
    expect(notes).toContain(`${file}: security descriptor, creation time ${created}, attributes -arh-- restored`);
    expect(sha256(before.host)).toBe(before.sha);
    expect(statSync(before.host).mtimeMs).toBe(before.mtimeMs);
    const after = await probe(file);
    expect(after).toEqual({ attributes: before.attributes, created: before.created });
  }, 120_000);

  it("takes the reference's syntax: remediate -type file -id, undo -type file -id", async () => {
    const file = 'C:\\Users\\Public\\dropper2.exe';
    const before = await plantDropper(file);
    const [rec] = await ok(`remediate -type file -id "${file}"`);
    expect(rec).toMatchObject({ type: 'file', target: file });
    expect(existsSync(before.host)).toBe(false);
    await ok(`undo -type file -id "${file}"`);
    expect(sha256(before.host)).toBe(before.sha);
    expect(await probe(file)).toEqual({ attributes: before.attributes, created: before.created });
  }, 120_000);

  it('terminates a process by pid and by image name, without quarantining its image', async () => {
    const a = await startEvil();
    const [rec] = await ok(`remediate process ${a.pid}`);
    const actions = (rec!.actions as string[]).join('\n');
    expect(actions).toContain(`process ${a.pid} (evil.exe) terminated`);
    expect(actions).toMatch(/image .*evil\.exe not quarantined/i);
    expect((await running()).has(a.pid)).toBe(false);
    expect(existsSync(hostPath(prefix, evil))).toBe(true);

    const b = await startEvil();
    const c = await startEvil();
    const [byName] = await ok('remediate process EVIL.EXE');
    expect((byName!.actions as string[]).join('\n')).toMatch(
      new RegExp(
        `process ${b.pid} \\(evil\\.exe\\) terminated[^]*process ${c.pid} \\(evil\\.exe\\) terminated|process ${c.pid} \\(evil\\.exe\\) terminated[^]*process ${b.pid} \\(evil\\.exe\\) terminated`,
      ),
    );
    const alive = await running();
    expect(alive.has(b.pid) || alive.has(c.pid)).toBe(false);
  }, 120_000);

  it('terminates a whole tree with -auto, children first', async () => {
    const t = await startEvil(true);
    expect((await running()).has(t.child!)).toBe(true);
    const [rec] = await ok(`remediate process ${t.pid} -auto`);
    expect((rec!.actions as string[]).join('\n')).toContain(
      `process tree of ${t.pid} (evil.exe) terminated: pids ${t.child}, ${t.pid}`,
    );
    const alive = await running();
    expect(alive.has(t.pid)).toBe(false);
    expect(alive.has(t.child!)).toBe(false);
  }, 120_000);

  it('refuses a running image without -auto; with -auto stops it, quarantines it, and undo restores it', async () => {
    const p = await startEvil();
    const host = hostPath(prefix, evil);
    const sha = sha256(host);
    const refusal = await refused(`remediate file ${evil}`);
    expect(refusal).toBe(
      `remediate: ${evil} is the image of running process ${p.pid}: add -auto to stop it first (nothing was changed)`,
    );
    expect((await running()).has(p.pid)).toBe(true);
    const [rec] = await ok(`remediate file ${evil} -auto`);
    expect((rec!.actions as string[])[0]).toBe(`process ${p.pid} running it terminated (TerminateProcess)`);
    expect((await running()).has(p.pid)).toBe(false);
    expect(existsSync(host)).toBe(false);
    await ok(`undo file ${evil.toLowerCase()}`); // Windows names: any case
    expect(sha256(host)).toBe(sha);
  }, 120_000);

  it('remediates a Startup item by name and undo puts it back byte-exact', async () => {
    const item = 'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\StartUp\\evil.bat';
    const host = hostPath(prefix, item);
    mkdirSync(join(host, '..'), { recursive: true });
    writeFileSync(host, '@echo off\r\nstart C:\\Users\\Public\\evil.exe\r\n');
    utimesSync(host, OLD_WRITE, OLD_WRITE);
    const sha = sha256(host);
    expect((await ok('startupfolders')).some((s) => s.name === 'evil.bat')).toBe(true);
    const [rec] = await ok('remediate startupfolder evil.bat');
    expect(String(rec!.target).toLowerCase()).toBe(item.toLowerCase());
    expect(existsSync(host)).toBe(false);
    expect((await ok('startupfolders')).some((s) => s.name === 'evil.bat')).toBe(false);
    await ok('undo startupfolder EVIL.BAT');
    expect(sha256(host)).toBe(sha);
    expect(statSync(host).mtime.toISOString()).toBe(OLD_WRITE.toISOString());
    // A file outside the Startup folders is not a Startup item.
    expect(await refused('remediate startupfolder C:\\Users\\Public\\evil.exe')).toBe(
      'remediate: startupfolder: C:\\Users\\Public\\evil.exe is not an item of a Startup folder (see startupfolders)',
    );
  }, 120_000);

  it('refuses boot files, the agent itself, the kernel pid and UNC paths in one line each, and keeps serving', async () => {
    const before = (await ok('remediate list')).length;
    expect
      .soft(await refused('remediate file C:\\Windows\\System32\\ntoskrnl.exe'))
      .toBe(
        'remediate: C:\\Windows\\System32\\ntoskrnl.exe: a file Windows needs to boot: refused (see docs/security.md)',
      );
    expect
      .soft(await refused('remediate file c:\\windows\\system32\\KERNEL32.DLL'))
      .toMatch(/^remediate: C:\\windows\\system32\\KERNEL32\.DLL: a file Windows needs to boot: refused/);
    const agentJs = winPath(BIN('lr-agent'));
    expect
      .soft(await refused(`remediate file ${agentJs}`))
      .toBe(`remediate: refused: ${agentJs} is a file running this agent (lr-agent.js)`);
    expect
      .soft(await refused(`remediate file ${winPath(nodeExe)}`))
      .toMatch(/is a file running this agent \(node\.exe\)$/);
    expect
      .soft(await refused(`remediate file ${agent.dataDir}\\agent.json`))
      .toMatch(/^remediate: refused: .* is in the agent's own data folder/);
    expect.soft(await refused('remediate process 4')).toBe('remediate: process 4 is the kernel: refused');
    expect
      .soft(await refused('remediate file \\\\server\\share\\x.exe'))
      .toBe('remediate: \\\\server\\share\\x.exe: UNC (network) path: only paths on a local drive are served');
    expect.soft(existsSync(hostPath(prefix, 'C:\\windows\\system32\\kernel32.dll'))).toBe(true);
    expect.soft((await ok('remediate list')).length).toBe(before);
  }, 120_000);

  it('refuses remediate to a basic responder', async () => {
    const basic = await w.addUser('bob', 'basic');
    const r = await exec('remediate list', basic);
    expect(r.status).toBe('refused');
    expect(r.error).toBe('remediate: refused: needs the advanced role (you are basic)');
  }, 60_000);
});
