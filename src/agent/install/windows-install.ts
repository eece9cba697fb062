/**
 * `lr-agent install | uninstall | status | service` on Windows: the agent as a service of the SCM, running
 * as LocalSystem, restarted after a crash, with its data folder (device key, received jobs, quarantine)
 * readable only by SYSTEM and Administrators.
 */
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join, win32 as winPath } from 'node:path';
import { Logger, type LogLevel } from '../../node/log.js';
import { DATA_MARKER, markerKind } from '../../node/data-marker.js';
import { agentPaths, loadAgentState } from '../config.js';
import { enroll } from '../enroll.js';
import { runSupervisor } from '../update/supervisor.js';
import { readDaclSddl, setSecurityFromSddl, wineVersion } from '../platform/windows/acl.js';
import { Win32Error } from '../platform/windows/ffi.js';
import { releaseBeforeUninstall } from '../platform/windows/isolation.js';
import { runAsService } from '../platform/windows/service-host.js';
import { isSeaBuild } from '../sea.js';
import {
  DATA_DIR_SECURITY,
  dataDirAclProblem,
  SERVICE_NAME,
  serviceCommandLine,
  untrustedWriters,
  type AgentInstallStatus,
} from './service-config.js';
import {
  createAgentService,
  deleteAgentService,
  queryAgentServiceConfig,
  queryAgentServiceState,
  startAgentService,
  stopAgentService,
} from './windows-scm.js';
import { describeError } from '../../shared/errors.js';

const RUNNING = 4;

/**
 * Gives the folder its access list and checks it reads back as set; throws with the reason otherwise. Under
 * Wine, which keeps no access lists (see acl.ts), the mismatch is returned as a warning instead: there is
 * nothing to enforce them anyway.
 */
export function lockDataDir(dir: string): { warning: string | null } {
  setSecurityFromSddl(dir, DATA_DIR_SECURITY);
  const sddl = readDaclSddl(dir, true);
  const problem = dataDirAclProblem(sddl);
  if (!problem) return { warning: null };
  const wine = wineVersion();
  if (wine) return { warning: `Wine ${wine} keeps no access lists: ${dir} reads back as ${sddl}` };
  throw new Error(`the access list of ${dir} did not stick: ${problem}`);
}

/**
 * Checks that only SYSTEM, Administrators and TrustedInstaller can change what the service will run as
 * LocalSystem: node.exe, the script, their folders, the script's node_modules, and (rename or replace) the
 * folders above; for the single executable (`script` null), the .exe, its folder and the folders above. A
 * user who could write any of them would run code as SYSTEM at the next start. Throws with the paths and
 * trustees; under Wine (no access lists) returns the finding as a warning.
 */
export function checkServiceCodeIsAdminOnly(nodeExe: string, script: string | null): { warning: string | null } {
  const items = new Set([nodeExe, winPath.dirname(nodeExe)]);
  if (script !== null) {
    items.add(script).add(winPath.dirname(script));
    for (let d = winPath.dirname(script); ; d = winPath.dirname(d)) {
      const modules = winPath.join(d, 'node_modules');
      if (existsSync(modules)) {
        items.add(modules);
        break;
      }
      if (winPath.dirname(d) === d) break;
    }
  }
  const ancestors = new Set<string>();
  for (const item of items) {
    for (let d = winPath.dirname(item); ; d = winPath.dirname(d)) {
      if (!items.has(d)) ancestors.add(d);
      if (winPath.dirname(d) === d) break; // the drive's root
    }
  }
  const findings: string[] = [];
  for (const [paths, kind] of [
    [items, 'item'],
    [ancestors, 'ancestor'],
  ] as const) {
    for (const p of paths) {
      const who = untrustedWriters(readDaclSddl(p, true), kind);
      if (who.length) findings.push(`${p} (${who.join(', ')})`);
    }
  }
  if (!findings.length) return { warning: null };
  const text = `others than SYSTEM and Administrators can change what the service would run as SYSTEM: ${findings.join('; ')}`;
  const wine = wineVersion();
  if (wine) return { warning: `Wine ${wine} keeps no access lists, not checkable here: ${text}` };
  throw new Error(
    `${text}: install ${script === null ? 'lr-agent' : 'node.exe and lr-agent'} under a folder only administrators can write (e.g. %ProgramFiles%)`,
  );
}

/**
 * An existing data folder must be the agent's own (its marker inside) or empty, and a real folder: one a
 * user made in %ProgramData% beforehand could hold their files (which they would keep owning) or point
 * elsewhere (a junction).
 */
function refuseForeignDataDir(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isSymbolicLink() || !st.isDirectory())
    throw new Error(`${dir} exists and is not a plain folder (a link or junction?): remove it first`);
  const names = readdirSync(dir);
  const marker = join(dir, DATA_MARKER);
  if (names.length && !(existsSync(marker) && markerKind(readFileSync(marker, 'utf8')) === 'agent'))
    throw new Error(`${dir} exists and is not an agent data folder: remove it or give another --data`);
}

export interface InstallOptions {
  bundle?: string;
  name?: string;
  dataDir: string;
  /**
   * node.exe and the lr-agent script the service runs; in the single executable, the .exe itself (the script is then
   * ignored).
   */
  nodeExe: string;
  script: string;
}

/**
 * Enrolls (unless the folder already holds an enrolled agent and no bundle is given), registers and starts the service.
 */
export async function installAgentService(o: InstallOptions, say: (line: string) => void): Promise<void> {
  // The single executable runs alone: its command line is the .exe (process.execPath), no script.
  const script = isSeaBuild() ? null : o.script;
  const commandLine = serviceCommandLine(o.nodeExe, script, o.dataDir);
  if (queryAgentServiceState())
    throw new Error(`a service named ${SERVICE_NAME} is already installed: run lr-agent uninstall first`);
  const code = checkServiceCodeIsAdminOnly(o.nodeExe, script);
  const enrolled = existsSync(agentPaths(o.dataDir).state);
  if (enrolled && o.bundle)
    throw new Error(
      `${o.dataDir} already holds an enrolled agent: install without --bundle to keep it, or uninstall --purge first`,
    );
  if (!enrolled && !o.bundle)
    throw new Error(`${o.dataDir} holds no enrolled agent: give an enrollment bundle with --bundle`);
  refuseForeignDataDir(o.dataDir);
  mkdirSync(o.dataDir, { recursive: true });
  // Before the key is written: the files made inside inherit the list.
  if (code.warning) say(`warning: ${code.warning}`);
  const { warning } = lockDataDir(o.dataDir);
  say(`data folder ${o.dataDir}: owner and access list set to ${DATA_DIR_SECURITY} (SYSTEM and Administrators only)`);
  if (warning) say(`warning: ${warning}`);
  if (o.bundle) {
    const state = await enroll(o.bundle, o.dataDir, o.name);
    const taken = state.requestedName ? ` (the name ${state.requestedName} is taken by another device)` : '';
    say(`enrolled as ${state.name} (device id ${state.deviceId})${taken}`);
  }
  const notes = createAgentService(commandLine);
  say(`service ${SERVICE_NAME} installed: automatic start, LocalSystem, restarted after a failure`);
  for (const note of notes) say(`note: ${note}`);
  startAgentService();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = queryAgentServiceState();
    if (s?.state === RUNNING) break;
    if (!s || s.state === 1)
      throw new Error(
        `the ${SERVICE_NAME} service stopped while starting (exit code ${s?.win32ExitCode ?? '?'}): see ${join(o.dataDir, 'agent.log')}`,
      );
    if (Date.now() > deadline)
      throw new Error(`the ${SERVICE_NAME} service is still starting after 60 s: see ${join(o.dataDir, 'agent.log')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  say(`service ${SERVICE_NAME} running`);
}

/**
 * Releases an isolation, stops and deletes the service; with `purge`, deletes the data folder too (only an agent's, by
 * its marker).
 */
export async function uninstallAgentService(
  dataDir: string,
  purge: boolean,
  say: (line: string) => void,
): Promise<void> {
  await releaseBeforeUninstall(dataDir, say);
  if (await stopAgentService()) {
    deleteAgentService();
    say(`service ${SERVICE_NAME} stopped and deleted`);
  } else say(`no service named ${SERVICE_NAME}`);
  if (!purge) return;
  if (!existsSync(dataDir)) return say(`no data folder ${dataDir}`);
  const marker = join(dataDir, DATA_MARKER);
  if (!existsSync(marker) || markerKind(readFileSync(marker, 'utf8')) !== 'agent')
    throw new Error(`${dataDir} is not an agent data folder (no agent marker): not deleted`);
  rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  say(`data folder ${dataDir} deleted (the device stays listed on the service until an admin removes it)`);
}

export function agentServiceStatus(dataDir: string): AgentInstallStatus {
  const state = queryAgentServiceState();
  const config = state ? queryAgentServiceConfig() : null;
  // Only SYSTEM and Administrators may open the folder: not elevated, nothing in it can be known.
  const acl = existsSync(dataDir) ? aclOf(dataDir) : undefined;
  let enrollment: AgentInstallStatus['enrollment'] = null;
  if (acl && !acl.sddl) enrollment = 'the data folder cannot be read here: run lr-agent status as an administrator';
  else if (existsSync(agentPaths(dataDir).state)) {
    try {
      const s = loadAgentState(dataDir);
      enrollment = { deviceId: s.deviceId, name: s.name, url: s.url };
    } catch (e) {
      enrollment = describeError(e);
    }
  }
  return {
    service: state
      ? {
          state: state.state,
          pid: state.pid,
          commandLine: config?.commandLine ?? null,
          startType: config?.startType ?? null,
          account: config?.account ?? null,
        }
      : null,
    dataDir,
    enrollment,
    ...(acl ? { acl } : {}),
  };
}

const ERROR_ACCESS_DENIED = 5;

function aclOf(dir: string): { sddl: string; problem: string | null; unverifiable?: string } {
  let sddl: string;
  try {
    sddl = readDaclSddl(dir, true);
  } catch (e) {
    if (e instanceof Win32Error && e.code === ERROR_ACCESS_DENIED)
      return { sddl: '', problem: null, unverifiable: 'access denied: run lr-agent status as an administrator' };
    throw e;
  }
  const problem = dataDirAclProblem(sddl);
  const wine = problem ? wineVersion() : null;
  return { sddl, problem, ...(wine ? { unverifiable: `Wine ${wine} keeps no access lists` } : {}) };
}

const LOG_LIMIT = 5 * 1024 * 1024;

/** Appends to `agent.log` in the data folder, the previous 5 MB kept as `agent.log.1`. */
function appendTo(dataDir: string): (text: string) => void {
  const file = join(dataDir, 'agent.log');
  return (text) => {
    try {
      if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) > LOG_LIMIT) renameSync(file, `${file}.1`);
      appendFileSync(file, text);
    } catch {
      // a full disk must not stop the agent
    }
  };
}

/** The service's log: JSON lines in `agent.log`, where the agent's own lines (its output) go too. */
function fileLogger(dataDir: string): Logger {
  const append = appendTo(dataDir);
  return new Logger('lr-agent', (process.env.LR_LOG_LEVEL as LogLevel | undefined) ?? 'info', (line) =>
    append(line + '\n'),
  );
}

/**
 * `lr-agent service`: the process the SCM starts. Checks the data folder's access list first: a wider list
 * (someone changed it, or the folder was restored from a copy) is set back and logged, and the agent does
 * not start when it cannot be set back. It is then the self-update supervisor (update/supervisor.ts): the
 * agent runs as its child (`builds\<version>\lr-agent.exe start`, or this file itself), tied to it by an
 * IPC channel, so the child ends when this process does; the SCM's stop asks the child to stop and waits
 * for it.
 */
export async function runAgentService(dataDir: string): Promise<number> {
  const log = fileLogger(dataDir);
  const stop = new AbortController();
  let supervisor: Promise<number> | null = null;
  return runAsService(SERVICE_NAME, {
    log: (level, msg, fields) => log[level](msg, fields),
    async start() {
      const problem = dataDirAclProblem(readDaclSddl(dataDir, true));
      if (problem) {
        const { warning } = lockDataDir(dataDir); // throws (the agent does not start) when it cannot be set back
        if (warning) log.warn(warning);
        else
          log.warn(
            `the data folder's access list was wrong (${problem}): set back to SYSTEM and Administrators only; if others could read it, the device key may be known: enroll the device again`,
            { dataDir },
          );
      }
      const state = loadAgentState(dataDir); // not enrolled: the start fails now, with the reason
      supervisor = runSupervisor({
        dataDir,
        log,
        self: selfCommand(),
        stopSignal: stop.signal,
        childOutput: appendTo(dataDir),
      }).catch((e: Error) => {
        log.error('the supervisor failed', { error: e.message });
        return 1;
      });
      log.info('agent supervisor started', { device: state.deviceId, deviceName: state.name }); // not `name`: the log line's own field
    },
    async stop() {
      stop.abort();
      await supervisor;
    },
  });
}

/** How the supervisor runs this very program: the single executable alone, or node.exe with the lr-agent script. */
function selfCommand(): [string, ...string[]] {
  return isSeaBuild() ? [process.execPath] : [process.execPath, winPath.resolve(process.argv[1] as string)];
}

/** The data folder the service runs with, as given (resolved the Windows way). */
export function windowsDataDir(dir: string): string {
  return winPath.resolve(dir);
}
