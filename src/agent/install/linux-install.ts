/**
 * `lr-agent install | uninstall | status | service` on Linux: the agent as a systemd service running as
 * root, restarted 2 s after any exit, started at boot, with its data folder (device key, received jobs,
 * quarantine) in /var/lib/lr-agent, mode 0700, owned by root. The unit's text and the status lines are in
 * linux-unit.ts (pure); this file touches the system.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DATA_MARKER, markerKind } from '../../node/data-marker.js';
import { writeFileAtomic } from '../../node/files.js';
import { agentPaths, loadAgentState, type AgentState } from '../config.js';
import { readIsolation, writeIsolation } from '../isolation.js';
import { removeIsolation } from '../platform/linux/response.js';
import {
  AGENT_STATUS_FILE,
  agentStatusSchema,
  agentUnitText,
  ETC_UNIT,
  INSTALL_DIR,
  INSTALLED_BINARY,
  PACKAGE_UNIT,
  parseExecStart,
  serviceArgv,
  UNIT_NAME,
  type AgentRunStatus,
  type LinuxAgentStatus,
} from './linux-unit.js';
import { describeError } from '../../shared/errors.js';

type Say = (line: string) => void;

/** systemd runs as PID 1 (the test sd_booted() makes); without it `systemctl start/stop/is-active` cannot work. */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

function systemctl(args: string[]): { ok: boolean; out: string } {
  try {
    return {
      ok: true,
      out: execFileSync('systemctl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim(),
    };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: (err.stdout || err.stderr || err.message).trim() };
  }
}

function mustBeRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} needs root: run it with sudo`);
}

/** Whether a package installed `path` (the lr-agent .deb): dpkg owns it then, we never remove it. */
function ownedByPackage(path: string): boolean {
  try {
    execFileSync('dpkg-query', ['--search', '--', path], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // no package has it, or no dpkg at all
  }
}

/**
 * Why a user other than root could change `path` (a file or folder the unit runs as root, or a folder above
 * it), or null. Owned by root and not writable by group or others, except a sticky folder above (/tmp).
 */
export function nonRootWriter(path: string): string | null {
  for (let p = path; ; p = dirname(p)) {
    const st = statSync(p);
    const sticky = p !== path && (st.mode & 0o1000) !== 0;
    if (st.uid !== 0) return `${p} is owned by uid ${st.uid}`;
    if (st.mode & 0o022 && !sticky)
      return `${p} is writable by its group or others (mode ${(st.mode & 0o7777).toString(8)})`;
    if (dirname(p) === p) return null;
  }
}

/**
 * What the unit will run. A single-file build: itself, copied to /usr/lib/lr-agent/lr-agent unless it runs
 * from there already (the .deb puts it there). From source: this Node and this script, where they are, once
 * checked that only root can change them (the unit runs them as root).
 */
export function agentProgram(o: { isSea: boolean; execPath: string; script: string }): {
  argv: string[];
  copyFrom: string | null;
} {
  if (o.isSea) {
    const here = realpathSync(o.execPath);
    return {
      argv: [INSTALLED_BINARY],
      copyFrom: existsSync(INSTALLED_BINARY) && realpathSync(INSTALLED_BINARY) === here ? null : here,
    };
  }
  for (const p of [o.execPath, o.script]) {
    const who = nonRootWriter(p);
    if (who)
      throw new Error(
        `the service would run ${p} as root, but ${who}: install node and lr-agent where only root can write, or use the single-file build (npm run package:agent)`,
      );
  }
  return { argv: [realpathSync(o.execPath), realpathSync(o.script)], copyFrom: null };
}

/** An existing data folder must be a real folder, and empty or an agent's (its marker inside). */
function refuseForeignDataDir(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isSymbolicLink() || !st.isDirectory())
    throw new Error(`${dir} exists and is not a plain folder (a symbolic link?): remove it first`);
  const marker = join(dir, DATA_MARKER);
  if (readdirSync(dir).length && !(existsSync(marker) && markerKind(readFileSync(marker, 'utf8')) === 'agent'))
    throw new Error(`${dir} exists and is not an agent data folder: remove it or give another --data`);
}

/** Makes the data folder (or takes an existing one) mode 0700, owned by root: it will hold the device's key. */
export function lockDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, 0, 0);
  chmodSync(dir, 0o700);
}

export interface LinuxInstallOptions {
  bundle?: string;
  name?: string;
  dataDir: string;
  program: { isSea: boolean; execPath: string; script: string };
  /** `lr-agent enroll`'s work, shared with the CLI (makes and locks the folder, enrolls). */
  enrollInto: (bundle: string, dataDir: string, name?: string) => Promise<AgentState & { requestedName?: string }>;
}

export async function installLinuxService(o: LinuxInstallOptions, say: Say): Promise<void> {
  mustBeRoot('lr-agent install');
  const enrolled = existsSync(agentPaths(o.dataDir).state);
  if (enrolled && o.bundle)
    throw new Error(
      `${o.dataDir} already holds an enrolled agent: install without --bundle to keep it, or uninstall --purge first`,
    );
  if (!enrolled && !o.bundle)
    throw new Error(`${o.dataDir} holds no enrolled agent: give an enrollment bundle with --bundle`);
  refuseForeignDataDir(o.dataDir);
  const program = agentProgram(o.program);
  const argv = serviceArgv(program.argv, o.dataDir);
  const unit = agentUnitText(argv);

  lockDataDir(o.dataDir);
  if (o.bundle) {
    const state = await o.enrollInto(o.bundle, o.dataDir, o.name);
    const taken = state.requestedName ? ` (the name ${state.requestedName} is taken by another device)` : '';
    say(`enrolled as ${state.name} (device id ${state.deviceId})${taken}`);
  }
  say(`data folder ${o.dataDir}: mode 0700, owned by root`);

  if (program.copyFrom) {
    mkdirSync(INSTALL_DIR, { recursive: true });
    chmodSync(INSTALL_DIR, 0o755);
    const tmp = `${INSTALLED_BINARY}.new-${process.pid}`;
    copyFileSync(program.copyFrom, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, INSTALLED_BINARY); // atomic: a running copy keeps its file
    say(`installed ${INSTALLED_BINARY}`);
  }

  // The .deb's unit is used as it is when it says the same; else ours in /etc (which overrides it).
  const packaged = existsSync(PACKAGE_UNIT) && readFileSync(PACKAGE_UNIT, 'utf8') === unit;
  if (packaged) rmSync(ETC_UNIT, { force: true });
  else {
    mkdirSync(dirname(ETC_UNIT), { recursive: true });
    writeFileAtomic(ETC_UNIT, unit, 0o644);
  }
  const unitPath = packaged ? PACKAGE_UNIT : ETC_UNIT;
  say(`unit ${unitPath}: runs ${argv.join(' ')} as root, restarted 2 s after any exit, started at boot`);

  const live = systemdRunning();
  if (live) systemctl(['daemon-reload']);
  const enable = systemctl(['enable', UNIT_NAME]);
  if (!enable.ok) throw new Error(`systemctl enable ${UNIT_NAME} failed: ${enable.out}`);
  if (!live) {
    say(
      `systemd is not running here (no /run/systemd/system): ${UNIT_NAME} is enabled and starts at the next boot; to start it now by hand: ${argv.join(' ')}`,
    );
    return;
  }
  const start = systemctl(['restart', UNIT_NAME]);
  if (!start.ok)
    throw new Error(`systemctl restart ${UNIT_NAME} failed: ${start.out} (see journalctl -u ${UNIT_NAME})`);
  say(`service ${UNIT_NAME} enabled and started (journalctl -u ${UNIT_NAME} shows its log)`);
  // Up to 15 s for the first connection, as the running agent reports it in status.json.
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    const run = readRunStatus(o.dataDir);
    if (run?.alive && run.status.connected)
      return say(`agent connected to ${run.status.url ? new URL(run.status.url).host : 'the service'}`);
  }
  say(`the agent has not connected within 15 s: see lr-agent status and journalctl -u ${UNIT_NAME}`);
}

/**
 * The isolation belongs to the device, so it goes with the agent (otherwise the device stays cut off with
 * nothing left to release it). Our nft table is removed whatever the state file says; when the device is
 * isolated and the rules cannot be removed, this throws before anything else is touched.
 */
async function releaseBeforeUninstall(dataDir: string, say: Say): Promise<void> {
  const state = readIsolation(dataDir);
  try {
    await removeIsolation(state?.backend === 'iptables' ? 'iptables' : 'nftables');
  } catch (e) {
    if (state?.isolated)
      throw new Error(
        `the device is isolated and its isolation could not be removed (${describeError(e).split('\n')[0]}): not uninstalled`,
        { cause: e },
      );
    return;
  }
  if (!state?.isolated) return;
  await writeIsolation(dataDir, {
    isolated: false,
    backend: null,
    allow: [],
    changedAt: new Date().toISOString(),
    jobId: null,
  });
  say('device released from isolation (its firewall rules removed)');
}

/** The running agent of this data folder by its status file, when its pid still runs `lr-agent … --data DIR`. */
function runningAgentPid(dataDir: string): number | null {
  const run = readRunStatus(dataDir);
  return run?.alive ? run.status.pid : null;
}

async function stopByPid(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return true;
  }
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(`/proc/${pid}`)) return true;
  }
  return false;
}

export async function uninstallLinuxService(dataDir: string, purge: boolean, say: Say): Promise<void> {
  mustBeRoot('lr-agent uninstall');
  await releaseBeforeUninstall(dataDir, say);
  const unitPath = [ETC_UNIT, PACKAGE_UNIT].find((p) => existsSync(p)) ?? null;
  if (unitPath) {
    if (systemdRunning()) systemctl(['stop', UNIT_NAME]);
    systemctl(['disable', UNIT_NAME]);
    say(`service ${UNIT_NAME} stopped and disabled`);
  } else say(`no ${UNIT_NAME} installed`);
  // Without systemd the agent may run by hand (or from an old install): it goes too, before its folder.
  // Its supervisor (`lr-agent service`, which restarts it and rolls updates back) goes first, else it would
  // start the agent again.
  const pid = runningAgentPid(dataDir);
  const supervisor = pid === null ? null : supervisorOf(pid, dataDir);
  if (supervisor && supervisor !== process.pid)
    say(
      (await stopByPid(supervisor))
        ? `agent supervisor (pid ${supervisor}) stopped`
        : `agent supervisor (pid ${supervisor}) did not stop within 10 s`,
    );
  if (pid && pid !== process.pid)
    say((await stopByPid(pid)) ? `agent (pid ${pid}) stopped` : `agent (pid ${pid}) did not stop within 10 s`);
  if (existsSync(ETC_UNIT)) {
    rmSync(ETC_UNIT);
    if (systemdRunning()) systemctl(['daemon-reload']);
    say(`removed ${ETC_UNIT}`);
  }
  if (existsSync(INSTALLED_BINARY) && !ownedByPackage(INSTALLED_BINARY)) {
    rmSync(INSTALLED_BINARY);
    if (!readdirSync(INSTALL_DIR).length) rmdirSync(INSTALL_DIR);
    say(`removed ${INSTALLED_BINARY}`);
  }
  if (!purge) return;
  if (!existsSync(dataDir)) return say(`no data folder ${dataDir}`);
  const marker = join(dataDir, DATA_MARKER);
  if (!existsSync(marker) || markerKind(readFileSync(marker, 'utf8')) !== 'agent')
    throw new Error(`${dataDir} is not an agent data folder (no agent marker): not deleted`);
  rmSync(dataDir, { recursive: true, force: true });
  say(`data folder ${dataDir} deleted (the device stays listed on the service until an admin removes it)`);
}

/** The status file and whether its pid is still an lr-agent of this data folder; null: no file. */
function readRunStatus(dataDir: string): LinuxAgentStatus['run'] {
  let status: AgentRunStatus;
  try {
    status = agentStatusSchema.parse(JSON.parse(readFileSync(join(dataDir, AGENT_STATUS_FILE), 'utf8')));
  } catch {
    return null;
  }
  return { status, alive: !status.stoppedAt && agentCommandOf(status.pid, dataDir) !== null };
}

/**
 * The command-line words of `pid` when it is an lr-agent of this data folder (`--data` given as it was:
 * relative to that process's cwd), else null (gone, or another program).
 */
function agentCommandOf(pid: number, dataDir: string): string[] | null {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const data = args[args.indexOf('--data') + 1];
    const ours =
      args.some((a) => a.includes('lr-agent')) &&
      data !== undefined &&
      resolve(readlinkSync(`/proc/${pid}/cwd`), data) === resolve(dataDir);
    return ours ? args : null;
  } catch {
    return null;
  }
}

/** The `lr-agent service` of this data folder that runs `pid` as its child, if any. */
function supervisorOf(pid: number, dataDir: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isSafeInteger(ppid) || ppid <= 1) return null;
    return agentCommandOf(ppid, dataDir)?.includes('service') ? ppid : null;
  } catch {
    return null;
  }
}

export function linuxAgentStatus(dataDir: string): LinuxAgentStatus {
  const unitPath = [ETC_UNIT, PACKAGE_UNIT].find((p) => existsSync(p)) ?? null;
  let execStart: string[] | null = null;
  if (unitPath) {
    try {
      execStart = parseExecStart(readFileSync(unitPath, 'utf8'));
    } catch {
      execStart = null;
    }
  }
  const live = systemdRunning();
  const enabled = unitPath ? systemctl(['is-enabled', UNIT_NAME]).out.split('\n')[0] || null : null;
  const active = unitPath && live ? systemctl(['is-active', UNIT_NAME]).out.split('\n')[0] || null : null;
  const st = lstatSync(dataDir, { throwIfNoEntry: false });
  let enrollment: LinuxAgentStatus['enrollment'] = null;
  if (st && existsSync(agentPaths(dataDir).state)) {
    try {
      const s = loadAgentState(dataDir);
      enrollment = { deviceId: s.deviceId, name: s.name, url: s.url };
    } catch (e) {
      enrollment = describeError(e);
    }
  } else if (st && process.getuid?.() !== 0)
    enrollment = 'the data folder is readable by root only: run lr-agent status with sudo';
  return {
    unitPath,
    execStart,
    enabled,
    active,
    systemdRunning: live,
    dataDir,
    enrollment,
    ...(st ? { folder: { mode: st.mode, uid: st.uid, isDirectory: st.isDirectory() } } : {}),
    run: st ? readRunStatus(dataDir) : null,
  };
}
