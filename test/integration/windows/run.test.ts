// `run` on a Windows agent under Wine, through the whole pipeline (lr → service → agent fetching the signed
// library file): a batch file through cmd.exe with its parameters, cmd's metacharacters refused (by the
// service; the agent's own re-check is in test/unit/agent/run-checks.test.ts), a library .exe checked as
// a PE for this machine, cancel and the time limit ending the whole process tree through the run's Job
// Object (an orphaned grandchild included) while the agent keeps serving, and a finished script's
// background process ended when the job is closed. Processes are checked in /proc: each Wine process is
// a Linux process whose argv is its Windows command line.
// PowerShell does not exist under Wine (its powershell.exe is a stub): the .ps1 command line is tested
// exactly, at the argv level, in test/unit/agent/windows/command-line.test.ts, not run here.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorld, waitFor, type World } from '../harness.js';
import { loadProfile, processesWith } from '../library-helpers.js';
import { ConsoleClient } from '../../../src/client/console-client.js';
import { describeNeeds } from '../../needs.js';
import {
  addWindowsAgent,
  createWinePrefix,
  windowsRuntime,
  wineProblem,
  type WindowsAgent,
  type WinePrefix,
} from '../wine.js';

type Rec = Record<string, unknown>;
interface ExecJson {
  status: string;
  error: string | null;
  records: Rec[];
  text: string;
}

const WINE_WINDOWS_DIR = '/usr/lib/x86_64-linux-gnu/wine/x86_64-windows';
const RUN_TIME_LIMIT_SEC = 12;

describeNeeds(wineProblem())('run on a Windows agent under Wine', () => {
  let w: World;
  let prefix: WinePrefix;
  let agent: WindowsAgent;
  let files: string;
  let keys: string;
  beforeAll(async () => {
    const nodeExe = await windowsRuntime();
    // run's time limit is the long one: short here, so one test can reach it (every other run ends in seconds).
    w = await createWorld({ longCommandTimeoutSec: RUN_TIME_LIMIT_SEC });
    files = join(w.dir, 'files');
    keys = join(w.dir, 'keys');
    mkdirSync(files);
    mkdirSync(keys);
    expect((await w.lr(['keys', 'generate', '--out', keys, '--name', 'soc'])).code).toBe(0);
    expect((await w.lr(['publishers', 'add', 'soc', '--key', join(keys, 'soc.pub.pem')])).code).toBe(0);
    prefix = await createWinePrefix(w.dir);
    agent = await addWindowsAgent(w, prefix, nodeExe, 'windev');
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await prefix?.kill();
    await w?.cleanup();
  });

  /** Uploads `content` (or a copy of a file) as `name`, signed by the trusted publisher. */
  const upload = async (name: string, content: string | { copyOf: string }) => {
    const file = join(files, name);
    if (typeof content === 'string') writeFileSync(file, content);
    else copyFileSync(content.copyOf, file);
    const r = await w.lr([
      'library',
      'upload',
      file,
      '--overwrite',
      '--sign',
      join(keys, 'soc.key'),
      '--publisher',
      'soc',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  };
  const execJson = async (line: string): Promise<ExecJson & { code: number | null }> => {
    const r = await w.lr(['exec', 'windev', line, '--json']);
    return { ...(JSON.parse(r.stdout) as ExecJson), code: r.code };
  };
  /** Files of the agent's private run folders still on disk (each run removes its own). */
  const runFolders = () =>
    readdirSync(prefix.hostOf('C:\\ProgramData\\lr-agent\\tmp')).filter((n) => n.startsWith('run-'));

  it('runs a signed .bat through cmd.exe: its parameters arrive as words, output and exit code come back', async () => {
    await upload(
      'echo.bat',
      '@echo off\r\necho argc-check [%1] [%2] [%~3] [%4]\r\necho to stderr 1>&2\r\nexit /b %5\r\n',
    );
    const r = await w.lr(['exec', 'windev', `run echo.bat -parameters "a b 'c d' C:\\dir\\ 0"`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('argc-check [a] [b] [c d] [C:\\dir\\]');
    expect(r.stdout).toContain('to stderr');
    expect(r.code).toBe(0);
    const j = await execJson(`run echo.bat -parameters "x,y 'k=v' 'quoted words' . 3"`);
    expect(j.status).toBe('failed');
    expect(j.error).toBe('run: echo.bat exited with code 3');
    // cmd splits batch parameters on , and = too: the agent quoted them, so each stays one parameter.
    expect(j.text).toContain('argc-check ["x,y"] ["k=v"] [quoted words] [.]');
    expect(j.records).toEqual([expect.objectContaining({ script: 'echo.bat', exitCode: 3, signal: null })]);
    expect(runFolders()).toEqual([]);
  }, 90_000);

  it("refuses batch parameters holding cmd's metacharacters (the service first, the agent again), running nothing", async () => {
    const ran = prefix.hostOf('C:\\ProgramData\\lr-bat-ran.txt');
    await upload('mark.bat', '@echo off\r\necho %1 > C:\\ProgramData\\lr-bat-ran.txt\r\n');
    for (const [params, ch] of [
      ['a%PATH%', '%'],
      ['a>b', '>'],
      ["'x) else (y'", ')'],
    ]) {
      const r = await w.lr(['exec', 'windev', `run mark.bat -parameters "${params}"`]);
      expect(r.code, params).toBe(2);
      expect(r.stderr.trim(), params).toBe(
        `lr: run: parameters of a .bat/.cmd script may not contain ${ch} (cmd.exe would read it as batch syntax; refused: & | < > ^ % ! " ( ) and control characters but tab)`,
      );
    }
    // & and | are refused for every script.
    for (const params of ['a&b', 'a|b']) {
      const r = await w.lr(['exec', 'windev', `run mark.bat -parameters "${params}"`]);
      expect(r.code, params).toBe(2);
      expect(r.stderr.trim()).toBe('lr: run: parameters may not contain ; & | ! $');
    }
    expect(existsSync(ran)).toBe(false);
    // The same script with a plain parameter does run.
    const ok = await execJson('run mark.bat -parameters plain');
    expect(ok.status).toBe('completed');
    expect(readFileSync(ran, 'utf8').trim()).toBe('plain');
  }, 90_000);

  it('runs a signed .exe from the library once checked to be a PE executable; refuses a DLL and .sh/.py', async () => {
    await upload('lr-hostname.exe', { copyOf: join(WINE_WINDOWS_DIR, 'hostname.exe') });
    const expected = (await prefix.exec('hostname', [])).stdout.trim();
    expect(expected).not.toBe('');
    const j = await execJson('run lr-hostname.exe');
    expect(j.error).toBeNull();
    expect(j.status).toBe('completed');
    expect(j.text.trim()).toBe(expected);
    expect(j.records).toEqual([expect.objectContaining({ script: 'lr-hostname.exe', exitCode: 0 })]);

    await upload('notexe.exe', { copyOf: join(WINE_WINDOWS_DIR, 'kernel32.dll') });
    const dll = await execJson('run notexe.exe');
    expect(dll.status).toBe('failed');
    expect(dll.error).toBe('run: notexe.exe is a DLL, not an executable: refused');
    await upload('notexe2.exe', '@echo off\r\necho not a program\r\n');
    const text = await execJson('run notexe2.exe');
    expect(text.error).toBe('run: notexe2.exe is not a Windows executable: refused');

    await upload('x.sh', 'echo hi\n');
    const sh = await execJson('run x.sh');
    expect(sh.error).toBe(
      'run: x.sh: .sh scripts run on Linux and macOS devices only; on Windows use .ps1, .bat, .cmd or .exe',
    );
    expect(runFolders()).toEqual([]);
  }, 90_000);

  it('cancel ends the whole process tree (children, an orphaned grandchild) and the agent keeps serving', async () => {
    // Three pings identified by their count: one started in the background by the script, one by a cmd
    // that exits at once (its ping is orphaned, out of reach of any parent-pid walk), one in the foreground.
    const n = 3000 + (process.pid % 1000);
    const counts = [String(n), String(n + 1), String(n + 2)];
    await upload(
      'tree.bat',
      '@echo off\r\nstart /b ping -n %1 127.0.0.1 > nul\r\nstart /b cmd /d /c start /b ping -n %2 127.0.0.1 > nul\r\necho started\r\nping -n %3 127.0.0.1 > nul\r\n',
    );
    // Every process holding one of the counts in its argv (the pings, the cmd between), whatever its name.
    const pings = () => counts.flatMap((c) => processesWith(c));
    const pingRunning = (count: string) => processesWith(count).some((p) => /^(\S*\\)?ping(\.exe)? /i.test(p.cmdline));
    const c = await ConsoleClient.connect(loadProfile(w.adminProfile));
    try {
      const s = await c.openSession('windev');
      let text = '';
      const run = c.run(s.id, `run tree.bat -parameters "${counts.join(' ')}"`, { onText: (t) => (text += t) });
      await waitFor('script started', async () => text.includes('started'), 60_000);
      await waitFor('all three pings', async () => counts.every(pingRunning), 30_000);
      c.cancel(run.commandId() as string);
      const outcome = await run.outcome;
      expect(outcome.status).toBe('cancelled');
      expect(outcome.error).toBe('run: cancelled');
      // Nothing left, right when the command ends: the agent waited for the job to be empty.
      expect(pings(), agent.output()).toEqual([]);
      c.closeSession(s.id);
    } finally {
      c.close();
    }
    const after = await execJson('run echo.bat -parameters "still serving . . . 0"');
    expect(after.status).toBe('completed');
    expect(after.text).toContain('argc-check [still] [serving] [.] [.]');
  }, 120_000);

  it('the time limit ends the whole process tree too, reported as timed out', async () => {
    const n = 6000 + (process.pid % 1000);
    const counts = [String(n), String(n + 1), String(n + 2)];
    await upload(
      'slow.bat',
      '@echo off\r\nstart /b ping -n %1 127.0.0.1 > nul\r\nstart /b cmd /d /c start /b ping -n %2 127.0.0.1 > nul\r\nping -n %3 127.0.0.1 > nul\r\n',
    );
    const t0 = Date.now();
    const j = await execJson(`run slow.bat -parameters "${counts.join(' ')}"`);
    expect(j.status).toBe('timed_out');
    expect(j.error).toMatch(/stopped on the device/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(RUN_TIME_LIMIT_SEC * 1000);
    expect(
      counts.flatMap((c) => processesWith(c)),
      agent.output(),
    ).toEqual([]);
  }, 60_000);

  it('a script that exits leaves no process behind: closing its job ends what it started', async () => {
    const count = String(5000 + (process.pid % 1000));
    await upload(
      'leave.bat',
      '@echo off\r\nstart /b ping -n %1 127.0.0.1 > nul\r\nping -n 2 127.0.0.1 > nul\r\necho leaving\r\n',
    );
    const j = await execJson(`run leave.bat -parameters ${count}`);
    expect(j.status).toBe('completed');
    expect(j.text).toContain('leaving');
    await waitFor('the background ping ended with the job', async () => processesWith(count).length === 0, 10_000);
  }, 60_000);
});
