// The file commands of a Windows agent under Wine: Windows paths across drives, attributes, PE facts,
// findfile over the fixed drives, a 200 MB getfile verified against the host's hash, and every path that
// is not a local file refused in one line while the agent goes on answering.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  createReadStream,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConsoleClient, type CommandOutcome } from '../../../src/client/console-client.js';
import { profileSchema } from '../../../src/node/profile.js';
import { createWorld, type World } from '../harness.js';
import { describeNeeds } from '../../needs.js';
import {
  addWindowsAgent,
  createWinePrefix,
  windowsRuntime,
  winPath,
  wineProblem,
  type WindowsAgent,
  type WinePrefix,
} from '../wine.js';

const BIG_BYTES = 200 * 1024 * 1024;

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

describeNeeds(wineProblem())('file commands of a Windows agent under Wine', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;
  let client: ConsoleClient;
  let session: string;
  let nodeExe: string;
  let dDrive: string;

  /** Runs one line in the test's console session: its outcome, records and text. */
  const run = async (line: string): Promise<CommandOutcome & { records: Record<string, unknown>[]; text: string }> => {
    const records: Record<string, unknown>[] = [];
    let text = '';
    const outcome = await client.run(session, line, {
      onRecords: (r) => records.push(...r),
      onText: (t) => (text += t),
    }).outcome;
    return { ...outcome, records, text };
  };

  beforeAll(async () => {
    const started = Date.now();
    const step = (what: string) =>
      console.log(`[windows-files] ${what} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    nodeExe = await windowsRuntime();
    w = await createWorld();
    prefix = await createWinePrefix(w.dir);
    step('prefix');
    // Planted as files of the prefix (C:\ is drive_c) and a second drive D: mapped to a host folder.
    mkdirSync(prefix.hostOf('C:\\Program Files\\LR Test Suite'), { recursive: true });
    writeFileSync(prefix.hostOf('C:\\Program Files\\LR Test Suite\\readme.txt'), 'planted\n');
    mkdirSync(prefix.hostOf('C:\\users\\Public\\Documents\\Deep\\Er'), { recursive: true });
    writeFileSync(prefix.hostOf('C:\\users\\Public\\Documents\\Deep\\Er\\LR-Needle-7q.TXT'), 'needle\n');
    mkdirSync(prefix.hostOf('C:\\lr-evidence'), { recursive: true });
    writeFileSync(prefix.hostOf('C:\\lr-evidence\\flagged.txt'), 'flagged\n');
    const big = openSync(prefix.hostOf('C:\\lr-evidence\\big.bin'), 'w');
    const block = randomBytes(1024 * 1024);
    for (let i = 0; i < BIG_BYTES / block.length; i++) {
      block.writeUInt32LE(i, 0); // every MiB differs: a mis-ordered chunk changes the hash
      writeSync(big, block);
    }
    closeSync(big);
    dDrive = join(w.dir, 'd-drive');
    mkdirSync(join(dDrive, 'cases'), { recursive: true });
    writeFileSync(join(dDrive, 'on-d.txt'), 'drive d\n');
    symlinkSync(dDrive, join(prefix.dir, 'dosdevices', 'd:'));
    // Hidden through Wine's attrib (kept in an extended attribute), read-only as Wine maps it (no write permission).
    const attrib = await prefix.exec('cmd', ['/c', 'attrib +h C:\\lr-evidence\\flagged.txt']);
    expect(attrib.code, attrib.stdout + attrib.stderr).toBe(0);
    chmodSync(prefix.hostOf('C:\\lr-evidence\\flagged.txt'), 0o444);
    step('planted');
    agent = await addWindowsAgent(w, prefix, nodeExe, 'winfiles');
    step('agent online');
    const profile = profileSchema.parse(JSON.parse(readFileSync(w.adminProfile, 'utf8')));
    client = await ConsoleClient.connect(profile);
    session = (await client.openSession(agent.deviceId)).id;
  }, 240_000);
  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  it('cd across drives and back, relative paths and .. against the session folder, .. kept at the root', async () => {
    const steps: Array<[string, string]> = [
      ['cd D:\\', 'D:\\'],
      ['cd cases', 'D:\\cases'],
      ['cd C:', 'C:\\'],
      ['cd "C:\\Program Files\\LR Test Suite"', 'C:\\Program Files\\LR Test Suite'],
      ['cd d:', 'D:\\'],
      ['cd ..\\..\\..', 'D:\\'],
      ['cd c:/WINDOWS/system32', 'C:\\WINDOWS\\system32'],
      ['cd ..', 'C:\\WINDOWS'],
    ];
    for (const [line, cwd] of steps) {
      const r = await run(line);
      expect(r.status, `${line}: ${r.error}`).toBe('completed');
      expect(r.cwd, line).toBe(cwd);
    }
    // Relative to the session folder (C:\WINDOWS): a file by a relative name, case-insensitively.
    const ini = await run('dir WIN.INI');
    expect(ini.status, ini.error).toBe('completed');
    expect(ini.records).toMatchObject([{ path: 'C:\\WINDOWS\\WIN.INI', type: 'file' }]);
    const d = await run('dir D:\\');
    expect(d.records.map((x) => x.name)).toEqual(['cases', 'on-d.txt']);
    expect((await run('cd C:\\')).cwd).toBe('C:\\');
  }, 60_000);

  it('dir of a quoted "C:\\Program Files" path, with attributes in mode and the owner account', async () => {
    const r = await run('dir "C:\\Program Files"');
    expect(r.status, r.error).toBe('completed');
    const suite = r.records.find((x) => x.name === 'LR Test Suite');
    expect(suite).toMatchObject({ path: 'C:\\Program Files\\LR Test Suite', type: 'directory', group: null });
    // GetNamedSecurityInfoW + LookupAccountSidW: `DOMAIN\name` (Wine: the machine name and the host user).
    expect(suite?.owner).toMatch(/^[^\\]+\\[^\\]+$/);
    expect(suite?.mode).toMatch(/^d[-a]----$/);
    const ev = await run('dir C:\\lr-evidence');
    expect(ev.status, ev.error).toBe('completed');
    const flagged = ev.records.find((x) => x.name === 'flagged.txt');
    expect(flagged).toMatchObject({ type: 'file', size: 8, owner: suite?.owner });
    // attrib +h and read-only, read back through GetFileAttributesW.
    expect(flagged?.mode).toMatch(/^-[-a]rh--$/);
    // A big folder: every entry with its attributes and owner, timed (Wine's security calls are slow).
    const t0 = Date.now();
    const sys = await run('dir C:\\windows\\system32');
    expect(sys.status, sys.error).toBe('completed');
    // Owners within dir's time budget for them; past it null, and a line says how many were not read.
    const withOwner = sys.records.filter((x) => typeof x.owner === 'string').length;
    expect(withOwner).toBeGreaterThan(0);
    if (withOwner < sys.records.length)
      expect(sys.text).toContain(
        `owner not read for ${sys.records.length - withOwner} of ${sys.records.length} entries`,
      );
    console.log(
      `[windows-files] dir C:\\windows\\system32: ${sys.records.length} entries (${withOwner} with their owner) in ${Date.now() - t0} ms`,
    );
  }, 60_000);

  it('fileinfo of a PE file: machine, subsystem, timestamp, kind, signature presence, version strings and hashes', async () => {
    const r = await run(`fileinfo "${winPath(nodeExe)}"`);
    expect(r.status, r.error).toBe('completed');
    expect(r.records[0]).toMatchObject({
      type: 'PE32+ executable, x86-64',
      peMachine: 'x64',
      peFormat: 'PE32+',
      peKind: 'EXE',
      peSubsystem: 'console',
      authenticode: 'present (not verified)',
      companyName: 'Node.js',
      fileDescription: 'Node.js JavaScript Runtime',
      productName: 'Node.js',
      originalFilename: 'node.exe',
      sha256: await sha256Of(nodeExe),
    });
    expect(r.records[0]?.peTimestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    // A DLL of the Windows folder (Wine's own, a real PE).
    const dll = await run('fileinfo C:\\windows\\system32\\kernel32.dll');
    expect(dll.status, dll.error).toBe('completed');
    expect(dll.records[0]).toMatchObject({ peMachine: 'x64', peKind: 'DLL', authenticode: 'absent' });
  }, 60_000);

  it('findfile finds a planted file case-insensitively under C:\\, and over the fixed drives without -path', async () => {
    const want = 'C:\\users\\Public\\Documents\\Deep\\Er\\LR-Needle-7q.TXT';
    const under = await run('findfile lr-needle-7Q.txt -path C:\\users');
    expect(under.status, under.error).toBe('completed');
    expect(under.records).toMatchObject([{ path: want, type: 'file', size: 7 }]);
    const all = await run('findfile "lr-needle-*.txt"');
    expect(all.status, all.error).toBe('completed');
    expect(all.records.map((x) => x.path)).toEqual([want]);
    // Z: is Wine's mapping of the host's / (where the prefix itself lives): named, not walked.
    expect(all.text).toMatch(/Z:\\ not searched: under Wine it is the host's own root file system/);
  }, 90_000);

  it('getfile of a 200 MB file: the SHA-256 the agent reports and of the bytes received equal the host hash of the same file', async () => {
    const hostFile = prefix.hostOf('C:\\lr-evidence\\big.bin');
    const expected = await sha256Of(hostFile);
    const out = join(w.dir, 'downloads');
    mkdirSync(out, { recursive: true });
    // One session per device: the console's session closes while lr exec opens its own.
    client.closeSession(session);
    let t0 = Date.now();
    let g = await w.lr(['exec', 'winfiles', 'getfile C:\\lr-evidence\\big.bin', '--json', '--out', out], undefined, {
      timeoutMs: 240_000,
    });
    for (let i = 0; i < 20 && /already has a live response session/.test(g.stderr); i++) {
      await new Promise((r) => setTimeout(r, 250));
      t0 = Date.now();
      g = await w.lr(['exec', 'winfiles', 'getfile C:\\lr-evidence\\big.bin', '--json', '--out', out], undefined, {
        timeoutMs: 240_000,
      });
    }
    const secs = (Date.now() - t0) / 1000;
    expect(g.code, g.stderr).toBe(0);
    const res = JSON.parse(g.stdout) as { sha256: string; file: string; status: string };
    expect(res.sha256).toBe(expected);
    expect(await sha256Of(res.file)).toBe(expected);
    session = (await client.openSession(agent.deviceId)).id;
    console.log(`[windows-files] getfile 200 MB under Wine in ${secs.toFixed(1)} s (${Math.round(200 / secs)} MB/s)`);
  }, 240_000);

  it("putfile writes into the session folder, never over a file without -overwrite, never into the agent's data folder", async () => {
    const src = join(w.dir, 'lr-tool.txt');
    writeFileSync(src, 'tool bytes\n');
    const up = await w.lr(['library', 'upload', src]);
    expect(up.code, up.stderr).toBe(0);
    expect((await run('cd C:\\lr-evidence')).cwd).toBe('C:\\lr-evidence');
    const put = await run('putfile lr-tool.txt');
    expect(put.status, put.error).toBe('completed');
    expect(put.records).toMatchObject([
      { name: 'lr-tool.txt', path: 'C:\\lr-evidence\\lr-tool.txt', size: 11, keep: true },
    ]);
    expect(readFileSync(prefix.hostOf('C:\\lr-evidence\\lr-tool.txt'), 'utf8')).toBe('tool bytes\n');
    const again = await run('putfile lr-tool.txt');
    expect(again.error).toMatch(
      /^putfile: C:\\lr-evidence\\lr-tool\.txt already exists \(add -overwrite to replace it\)$/,
    );
    expect((await run('cd C:\\ProgramData\\LR-Agent')).status).toBe('completed');
    const inData = await run('putfile lr-tool.txt');
    expect(inData.error).toMatch(/^putfile: refused: .*agent's own data folder/);
    expect((await run('cd C:\\')).cwd).toBe('C:\\');
  }, 60_000);

  it('refuses every path that is not a local file in one line naming it, and keeps answering', async () => {
    const refusals: Array<[string, RegExp]> = [
      ['dir \\\\127.0.0.1\\c$\\windows', /^dir: \\\\127\.0\.0\.1\\c\$\\windows: UNC \(network\) path/],
      ['getfile \\\\server\\share\\x.txt', /^getfile: \\\\server\\share\\x\.txt: UNC/],
      ['fileinfo \\\\.\\PhysicalDrive0', /^fileinfo: \\\\\.\\PhysicalDrive0: device or namespace path/],
      ['getfile \\\\?\\C:\\windows\\win.ini', /device or namespace path/],
      ['dir \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\', /device or namespace path/],
      ['getfile C:\\lr-evidence\\NUL', /reserved device name NUL/],
      ['fileinfo con.txt', /^fileinfo: con\.txt: "con\.txt" is the reserved device name CON/],
      ['getfile C:\\Temp\\com1.log', /reserved device name COM1/],
      ['dir LPT9', /reserved device name LPT9/],
      ['cd aux', /reserved device name AUX/],
      ['getfile prn.txt', /reserved device name PRN/],
      ['getfile C:\\lr-evidence\\flagged.txt:secret', /alternate data stream/],
      ['fileinfo C:\\windows\\win.ini::$DATA', /alternate data stream/],
      [`dir C:\\${'n'.repeat(300)}`, /a name of 300 characters/],
      ['dir Q:\\', /^dir: Q:\\: there is no drive Q: on this device/],
      ['cd Q:', /^cd: Q:\\: there is no drive Q: on this device/],
      // The agent's own data folder (its private key), as typed and in another case.
      ['getfile C:\\ProgramData\\lr-agent\\agent.json', /^getfile: refused: .*agent's own data folder/],
      ['getfile c:/programdata/LR-AGENT/AGENT.JSON', /^getfile: refused: .*agent's own data folder/],
      // Win32 drops trailing dots and spaces: `lr-agent.\agent.json ` is the same key file.
      [
        'getfile "C:\\ProgramData\\lr-agent.\\agent.json "',
        /^getfile: refused: C:\\ProgramData\\lr-agent\\agent\.json is in the agent's own data folder/,
      ],
    ];
    for (const [line, reason] of refusals) {
      const r = await run(line);
      // Soft: every line that is not refused is reported, not only the first.
      expect.soft(['failed', 'refused'], line).toContain(r.status);
      expect.soft(r.error, line).toMatch(reason);
      expect.soft(r.error ?? '', line).not.toMatch(/\n/);
      expect.soft(r.records, line).toEqual([]);
    }
    // `..` above the root stays at the root (as Windows resolves it): a real file is reached, not refused.
    const up = await run('fileinfo C:\\..\\..\\windows\\win.ini');
    expect(up.status, up.error).toBe('completed');
    expect(up.records[0]?.path).toBe('C:\\windows\\win.ini');
    // Unquoted backslashes reach the agent as typed.
    const typed = await run('getfile C:\\Windows\\win.ini');
    expect(typed.status, typed.error).toBe('completed');
    const next = await run('dir C:\\');
    expect(next.status, next.error).toBe('completed');
    expect(next.records.map((x) => String(x.name).toLowerCase())).toContain('windows');
    expect(agent.process.exitCode).toBeNull();
  }, 90_000);
});
