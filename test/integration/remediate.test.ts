// Remediate a planted file, a running process started from a planted
// binary, a cron line, a systemd unit file and an XDG autostart entry (the last three in a fixture
// sysroot, where the real paths would need root); each is gone or stopped and `remediate list` shows
// them; undo restores each byte-identical with the same mode and mtime, the cron line at its place; every
// action and every undo is in the command log with its user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorld, waitFor, type World } from './harness.js';

type Rec = Record<string, unknown>;
interface ExecJson {
  commandId: string;
  status: string;
  error: string | null;
  records: Rec[];
}

const OLD = new Date('2021-03-04T05:06:07Z');

/** Writes a file with a given mode and an old mtime, so that a restore with fresh times would show. */
function plant(path: string, content: string | Buffer, mode: number): void {
  writeFileSync(path, content);
  chmodSync(path, mode);
  utimesSync(path, OLD, OLD);
}

function facts(path: string) {
  const st = statSync(path);
  return {
    bytes: readFileSync(path).toString('base64'),
    mode: st.mode & 0o7777,
    mtimeMs: st.mtimeMs,
    uid: st.uid,
    gid: st.gid,
  };
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe('remediate and undo', () => {
  let w: World;
  let root: string;
  let files: string;
  let agentDir: string;
  let responder: string;
  const children: ChildProcess[] = [];
  const crontab = [
    'SHELL=/bin/sh',
    '# m h dom mon dow user command',
    '17 * * * * root cd / && run-parts --report /etc/cron.hourly',
    '*/5 * * * * root /opt/evil/beacon.sh --quiet',
    '@reboot root /usr/local/bin/keep',
    '',
  ].join('\n');
  const unit =
    '[Unit]\nDescription=Evil beacon\n\n[Service]\nExecStart=/opt/evil/beacon.sh\n\n[Install]\nWantedBy=multi-user.target\n';
  const desktop = '[Desktop Entry]\nType=Application\nName=Evil Updater\nExec=/opt/evil/updater\n';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'lr-rem-root-'));
    files = mkdtempSync(join(tmpdir(), 'lr-rem-files-'));
    mkdirSync(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
    mkdirSync(join(root, 'etc/xdg/autostart'), { recursive: true });
    plant(join(root, 'etc/crontab'), crontab, 0o644);
    plant(join(root, 'etc/systemd/system/evil.service'), unit, 0o644);
    symlinkSync(
      '/etc/systemd/system/evil.service',
      join(root, 'etc/systemd/system/multi-user.target.wants/evil.service'),
    );
    plant(join(root, 'etc/xdg/autostart/evil.desktop'), desktop, 0o640);
    w = await createWorld();
    agentDir = (await w.addAgent('kilo', { sysroot: root })).dataDir;
    responder = await w.addUser('rita', 'advanced');
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await w?.cleanup();
    rmSync(root, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
  });

  const exec = async (
    line: string,
    profile = responder,
  ): Promise<ExecJson & { code: number | null; stderr: string }> => {
    const r = await w.lr(['exec', 'kilo', line, '--json'], profile);
    return { ...(JSON.parse(r.stdout) as ExecJson), code: r.code, stderr: r.stderr };
  };
  const ok = async (line: string, profile = responder): Promise<Rec[]> => {
    const r = await exec(line, profile);
    expect(r.error, line).toBeNull();
    expect(r.status, line).toBe('completed');
    return r.records;
  };

  it('remediates each kind of entity, lists them, and undoes each byte-exact', async () => {
    // A real file and a real process started from a planted binary.
    const planted = join(files, 'dropper.bin');
    plant(planted, Buffer.from([0, 1, 2, 3, 255, 254, 10, 13, 0x7f]), 0o751);
    const image = join(files, 'evil-sleep');
    copyFileSync('/bin/sleep', image);
    chmodSync(image, 0o750);
    utimesSync(image, OLD, OLD);
    const before = {
      file: facts(planted),
      image: facts(image),
      unit: facts(join(root, 'etc/systemd/system/evil.service')),
      desktop: facts(join(root, 'etc/xdg/autostart/evil.desktop')),
    };
    const proc = spawn(image, ['600'], { stdio: 'ignore' });
    children.push(proc);
    const pid = proc.pid as number;
    await waitFor('the planted process', async () => alive(pid) && readlinkSync(`/proc/${pid}/exe`) === image);

    // --- remediate ---
    const [f] = await ok(`remediate file "${planted}"`);
    expect(f).toMatchObject({ type: 'file', target: planted, state: 'remediated', paths: [planted] });
    expect(existsSync(planted)).toBe(false);

    const [p] = await ok(`remediate process ${pid} -auto`);
    expect(p).toMatchObject({ type: 'process', target: String(pid), paths: [image] });
    expect((p?.actions as string[])[0]).toMatch(new RegExp(`process tree of ${pid} stopped`));
    await waitFor('the process to be gone', async () => !alive(pid));
    expect(existsSync(image)).toBe(false);

    const [s] = await ok('remediate service evil');
    expect(s).toMatchObject({
      type: 'service',
      target: 'evil.service',
      paths: ['/etc/systemd/system/evil.service', '/etc/systemd/system/multi-user.target.wants/evil.service'],
    });
    expect((s?.actions as string[]).join('\n')).toMatch(/not stopped: systemd does not run on this root/);
    expect(existsSync(join(root, 'etc/systemd/system/evil.service'))).toBe(false);
    expect(() => lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/evil.service'))).toThrow();

    const [c] = await ok('remediate scheduledtask /etc/crontab:4');
    expect(c).toMatchObject({ type: 'scheduledtask', target: '/etc/crontab:4', paths: ['/etc/crontab:4'] });
    const cronAfter = readFileSync(join(root, 'etc/crontab'), 'utf8');
    expect(cronAfter).not.toContain('beacon.sh');
    expect(cronAfter.split('\n')).toHaveLength(crontab.split('\n').length - 1);

    const [x] = await ok('remediate startupfolder /etc/xdg/autostart/evil.desktop');
    expect(x).toMatchObject({ type: 'startupfolder', target: '/etc/xdg/autostart/evil.desktop' });
    expect(existsSync(join(root, 'etc/xdg/autostart/evil.desktop'))).toBe(false);

    // The quarantine is private and holds every entry.
    expect(statSync(join(agentDir, 'quarantine')).mode & 0o777).toBe(0o700);
    const list = await ok('remediate list');
    expect(list.map((e) => `${String(e.type)} ${String(e.target)} ${String(e.state)}`)).toEqual([
      `file ${planted} remediated`,
      `process ${pid} remediated`,
      'service evil.service remediated',
      'scheduledtask /etc/crontab:4 remediated',
      'startupfolder /etc/xdg/autostart/evil.desktop remediated',
    ]);
    // Scheduled tasks and startup items no longer show them.
    expect(JSON.stringify(await ok('scheduledtasks'))).not.toContain('beacon.sh');
    expect(JSON.stringify(await ok('startupfolders'))).not.toContain('Evil Updater');

    // --- refusals ---
    const none = await exec('undo file /nonexistent/x');
    expect(none.code).toBe(1);
    expect(none.error).toBe('undo: nothing to undo: no file /nonexistent/x in the quarantine (see remediate list)');
    writeFileSync(planted, 'someone else');
    const occupied = await exec(`undo file "${planted}"`);
    expect(occupied.error).toBe(
      `undo: ${planted} exists again on the device: move it away first (nothing was restored)`,
    );
    rmSync(planted);

    // --- undo (by the admin) ---
    await ok(`undo file "${planted}"`, w.adminProfile);
    expect(facts(planted)).toEqual(before.file);
    const [up] = await ok(`undo process ${pid}`, w.adminProfile);
    expect(up?.state).toBe('restored');
    expect(facts(image)).toEqual(before.image);
    await ok('undo service evil.service', w.adminProfile);
    expect(facts(join(root, 'etc/systemd/system/evil.service'))).toEqual(before.unit);
    expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/evil.service'))).toBe(
      '/etc/systemd/system/evil.service',
    );
    await ok('undo scheduledtask /etc/crontab:4', w.adminProfile);
    expect(readFileSync(join(root, 'etc/crontab'), 'utf8')).toBe(crontab);
    await ok('undo startupfolder evil.desktop', w.adminProfile);
    expect(facts(join(root, 'etc/xdg/autostart/evil.desktop'))).toEqual(before.desktop);

    const after = await ok('remediate list');
    expect(after.map((e) => e.state)).toEqual(['restored', 'restored', 'restored', 'restored', 'restored']);
    const again = await exec('undo scheduledtask /etc/crontab:4');
    expect(again.error).toMatch(/^undo: nothing to undo/);

    // --- acceptance 5: every action and undo in the command log, with its user ---
    const log = JSON.parse((await w.lr(['log', '--device', 'kilo', '--json'])).stdout) as Rec[];
    const line = (cmd: string) =>
      log
        .filter((e) => String(e.commandLine).startsWith(cmd))
        .map((e) => `${String(e.user)} ${String(e.status)} ${String(e.commandLine)}`);
    expect(line('remediate ')).toEqual([
      `rita completed remediate file "${planted}"`,
      `rita completed remediate process ${pid} -auto`,
      'rita completed remediate service evil',
      'rita completed remediate scheduledtask /etc/crontab:4',
      'rita completed remediate startupfolder /etc/xdg/autostart/evil.desktop',
      'rita completed remediate list',
      'rita completed remediate list',
    ]);
    expect(line('undo ')).toEqual([
      'rita failed undo file /nonexistent/x',
      `rita failed undo file "${planted}"`,
      `admin completed undo file "${planted}"`,
      `admin completed undo process ${pid}`,
      'admin completed undo service evil.service',
      'admin completed undo scheduledtask /etc/crontab:4',
      'admin completed undo startupfolder evil.desktop',
      'rita failed undo scheduledtask /etc/crontab:4',
    ]);
  }, 120_000);

  it('refuses remediate and undo to a basic responder, and logs the refusal', async () => {
    const basic = await w.addUser('bob', 'basic');
    const r = await exec('remediate list', basic);
    expect(r.status).toBe('refused');
    expect(r.error).toBe('remediate: refused: needs the advanced role (you are basic)');
  });

  // The reference's `remediate -type file -id PATH -auto`, where -auto runs the
  // prerequisite step (stop the process running the file) before the file is quarantined.
  it("takes the reference's named form; -auto stops the process running a file before quarantining it", async () => {
    const image = join(files, 'evil-runner');
    copyFileSync('/bin/sleep', image);
    chmodSync(image, 0o750);
    utimesSync(image, OLD, OLD);
    const before = facts(image);
    const proc = spawn(image, ['600'], { stdio: 'ignore' });
    children.push(proc);
    const pid = proc.pid as number;
    await waitFor('the planted process', async () => alive(pid) && readlinkSync(`/proc/${pid}/exe`) === image);

    // Without -auto, a running image is refused and nothing changes.
    const refused = await exec(`remediate -type file -id "${image}"`);
    expect(refused.status).toBe('failed');
    expect(refused.error).toBe(
      `remediate: ${image} is the image of running process ${pid}: add -auto to stop it first (nothing was changed)`,
    );
    expect(alive(pid)).toBe(true);
    expect(existsSync(image)).toBe(true);

    const [f] = await ok(`remediate -type file -id "${image}" -auto`);
    expect(f).toMatchObject({ type: 'file', target: image, state: 'remediated', paths: [image] });
    expect((f?.actions as string[])[0]).toMatch(new RegExp(`^process ${pid} running it stopped \\(SIGTERM`));
    await waitFor('the process to be gone', async () => !alive(pid));
    expect(existsSync(image)).toBe(false);

    const [u] = await ok(`undo -type file -id "${image}"`);
    expect(u?.state).toBe('restored');
    expect(facts(image)).toEqual(before);

    // -type process -id PID: the reference's other named form.
    const other = spawn(image, ['600'], { stdio: 'ignore' });
    children.push(other);
    const otherPid = other.pid as number;
    await waitFor('the second process', async () => alive(otherPid));
    const [p] = await ok(`remediate -type process -id ${otherPid}`);
    expect(p).toMatchObject({ type: 'process', target: String(otherPid) });
    await waitFor('the second process to be gone', async () => !alive(otherPid));
    await ok(`undo -type process -id ${otherPid}`);
  }, 60_000);
});
