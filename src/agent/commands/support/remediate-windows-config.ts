/**
 * remediate / undo on Windows: service, scheduledtask, registry. Every remediation is undone exactly:
 *
 * - service NAME: set to Disabled first (ChangeServiceConfigW, so that a recovery action cannot start it
 *   again), then stopped (SERVICE_CONTROL_STOP, waited for at most 30 s). The start type, the delayed-auto
 *   flag and whether it was running are kept in the entry; undo puts the start type and flag back and starts
 *   the service only if it was running. Its binary is not quarantined (`remediate file` does that). Services
 *   Windows cannot run without, and the agent's own, are refused (SERVICE_DENY_LIST).
 * - scheduledtask TASK (`\Folder\Task` or its file in System32\Tasks): removed, not disabled: the definition
 *   file is moved into the quarantine byte-exact, and its TaskCache registry keys (where the Task Scheduler
 *   service loads tasks from, actions included: rewriting <Enabled> in the file alone would not stop it) are
 *   saved value by value and deleted. Undo puts both back. Tasks of `\Microsoft\` are refused unless their
 *   program is outside the usual folders (what `persistence` shows).
 * - registry KEY\\VALUE: the value's exact type and bytes are kept, then it is deleted; undo writes the same
 *   type and bytes back. Keys are never deleted whole; the values Windows needs to boot or log on are refused.
 */
import { statSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { SERVICE_NAME } from '../../install/service-config.js';
import { CommandError, type JobContext } from '../../command.js';
import type { Quarantine, QuarantineEntry } from '../../quarantine.js';
import { fsReason } from '../../fs/fs-errors.js';
import { Win32Error } from '../../platform/windows/ffi.js';
import { resolveLaunch } from '../../platform/windows/persistence-command.js';
import { isUnusualLocation } from '../../platform/windows/persistence-sources.js';
import { readValue } from '../../platform/windows/registry.js';
import { parseRegistryPath, RegistryError, type RegistryPath } from '../../platform/windows/registry-path.js';
import { RegistryCallError } from '../../platform/windows/registry-win32.js';
import {
  deleteKey,
  deleteSavedValue,
  KEY_ITSELF,
  readSavedKey,
  readSavedValue,
  valuePath,
  writeSavedValue,
  type SavedValue,
} from '../../platform/windows/registry-write.js';
import { readTask, taskStoreDir } from '../../platform/windows/scheduled-tasks.js';
import {
  ERROR_SERVICE_DOES_NOT_EXIST,
  readServiceState,
  serviceKeyName,
  SERVICE_DISABLED,
  SERVICE_STOPPED,
  setStartType,
  startService,
  startTypeName,
  stopService,
} from '../../platform/windows/scm-control.js';
import { isMicrosoftTask, locateTask, taskCacheKeys } from '../../platform/windows/task-store.js';
import { describeError } from '../../../shared/errors.js';

/** How long a stop (and a start on undo) is waited for. */
const SERVICE_WAIT_MS = 30_000;

/**
 * Services Windows does not run without (RPC, DCOM, the session manager, the SAM, the event log, Plug and
 * Play, WMI, the base filtering engine and firewall, Defender, Windows Update's installer) and the agent's
 * own: a compromised one is repaired, not disabled. Compared without regard to case, as Windows names them.
 */
export const SERVICE_DENY_LIST: readonly string[] = [
  'RpcSs',
  'RpcEptMapper',
  'DcomLaunch',
  'LSM',
  'SamSs',
  'EventLog',
  'PlugPlay',
  'Winmgmt',
  'BFE',
  'MpsSvc',
  'WinDefend',
  'TrustedInstaller',
  SERVICE_NAME,
];

export function deniedService(name: string): boolean {
  return SERVICE_DENY_LIST.some((d) => d.toLowerCase() === name.toLowerCase());
}

/**
 * Values Windows needs to boot or log on: deleting them (rather than putting back their default) leaves a
 * device nobody can log on to. An attacker's change to them is repaired by hand; everything else under
 * HKLM/HKU/HKCU may be removed. Services' keys belong to `remediate service`.
 */
const VALUE_DENY_LIST: ReadonlyArray<{ key: RegExp; value: RegExp; why: string }> = [
  {
    key: /^HKLM\\Software\\(Wow6432Node\\)?Microsoft\\Windows NT\\CurrentVersion\\Winlogon$/i,
    value: /^(Userinit|Shell)$/i,
    why: 'Windows needs it to log on',
  },
  {
    key: /^HKLM\\System\\(CurrentControlSet|ControlSet\d{3})\\Control\\Session Manager$/i,
    value: /^BootExecute$/i,
    why: 'Windows needs it to boot',
  },
  {
    key: /^HKLM\\System\\(CurrentControlSet|ControlSet\d{3})\\Services(\\|$)/i,
    value: /.*/s,
    why: "a service's configuration: use remediate service",
  },
];

/** Why a value may not be removed, or null. */
export function deniedValue(p: RegistryPath): string | null {
  if (p.value === null) return null;
  const hit = VALUE_DENY_LIST.find((d) => d.key.test(p.display) && d.value.test(p.value!));
  return hit ? hit.why : null;
}

const refusal = (command: string, m: string, code = 'refused') => new CommandError(`${command}: ${m}`, code);

/** A Win32 or registry failure as one line. */
function reasonOf(e: unknown): string {
  if (e instanceof CommandError) return e.message;
  if (e instanceof RegistryCallError) return `${e.call}: ${e.message}`;
  if ((e as NodeJS.ErrnoException).code) return fsReason(e);
  return describeError(e);
}

// ---- registry ------------------------------------------------------------------------------------------

function parseValueTarget(command: string, target: string): RegistryPath & { value: string } {
  let p: RegistryPath;
  try {
    p = parseRegistryPath(target);
  } catch (e) {
    if (e instanceof RegistryError) throw refusal(command, `registry: ${e.path}: ${e.message}`);
    throw e;
  }
  if (p.value === null)
    throw refusal(command, `registry: ${p.display} is a key: give KEY\\\\VALUE (keys are never deleted whole)`);
  if (p.hive === 'HKCR' || p.hive === 'HKCC')
    throw refusal(
      command,
      `registry: ${p.display}: ${p.hive} is a merged view: give the value under HKLM, HKU or HKCU`,
    );
  return p as RegistryPath & { value: string };
}

async function remediateRegistry(q: Quarantine, entry: QuarantineEntry, target: string): Promise<void> {
  const p = parseValueTarget('remediate', target);
  const shown = valuePath({ key: p.display, name: p.value });
  const why = deniedValue(p);
  if (why) throw refusal('remediate', `registry: ${shown}: refused: ${why} (nothing was changed)`);
  let saved: SavedValue | null;
  try {
    saved = readSavedValue(p);
  } catch (e) {
    throw refusal('remediate', `registry: ${shown}: ${reasonOf(e)}`, 'failed');
  }
  if (!saved) throw refusal('remediate', `registry: ${shown}: value not found`, 'not_found');
  entry.target = shown;
  // Saved before it is deleted: the entry on disk always holds what the registry no longer has.
  entry.registryValues.push(saved);
  await q.save(entry);
  try {
    deleteSavedValue(saved);
  } catch (e) {
    entry.registryValues.pop();
    throw refusal('remediate', `registry: ${shown}: ${reasonOf(e)} (nothing was changed)`, 'failed');
  }
  entry.actions.push(`${shown} deleted (type ${saved.type}, ${saved.dataHex.length / 2} bytes kept for undo)`);
}

function undoRegistry(entry: QuarantineEntry): string[] {
  const notes: string[] = [];
  for (const v of entry.registryValues) {
    try {
      writeSavedValue(v);
    } catch (e) {
      throw refusal('undo', `registry: ${reasonOf(e)}`, 'failed');
    }
    notes.push(`${valuePath(v)} restored (type ${v.type}, ${v.dataHex.length / 2} bytes)`);
  }
  return notes;
}

// ---- services ------------------------------------------------------------------------------------------

/** The DelayedAutostart value of the service's key: what Wine keeps (it has no delayed-auto config level). */
function delayedFromKey(name: string): boolean {
  const v = readValue('HKLM', `SYSTEM\\CurrentControlSet\\Services\\${name}`, 'DelayedAutostart');
  return typeof v?.value === 'number' && v.value !== 0;
}

function serviceFailure(command: string, target: string, e: unknown): CommandError {
  if (e instanceof Win32Error && e.code === ERROR_SERVICE_DOES_NOT_EXIST)
    return refusal(command, `service: no service ${target} (see services)`, 'not_found');
  return refusal(command, `service ${target}: ${reasonOf(e)}`, 'failed');
}

async function remediateService(ctx: JobContext, q: Quarantine, entry: QuarantineEntry, target: string): Promise<void> {
  if (deniedService(target)) throw refusal('remediate', `service ${target}: refused: Windows (or the agent) needs it`);
  let name: string;
  let before: ReturnType<typeof readServiceState>;
  try {
    name = serviceKeyName(target);
    before = readServiceState(name);
  } catch (e) {
    throw serviceFailure('remediate', target, e);
  }
  if (deniedService(name)) throw refusal('remediate', `service ${name}: refused: Windows (or the agent) needs it`);
  if (before.startType < 2)
    throw refusal(
      'remediate',
      `service ${name}: a ${startTypeName(before.startType)}-start driver: refused (remediate file its driver file offline)`,
    );
  const delayed = before.delayedKnown ? before.delayedAutoStart : delayedFromKey(name);
  const wasRunning = before.state !== SERVICE_STOPPED;
  if (before.startType === SERVICE_DISABLED && !wasRunning)
    throw refusal('remediate', `service ${name} is already disabled and stopped: nothing to do`);
  entry.target = name;
  // Disabled before it is stopped: its recovery actions cannot start it again meanwhile.
  try {
    setStartType(name, SERVICE_DISABLED);
  } catch (e) {
    throw serviceFailure('remediate', name, e);
  }
  entry.services.push({ name, startType: before.startType, delayedAutoStart: delayed, wasRunning });
  entry.actions.push(`service ${name} disabled (was ${startTypeName(before.startType, delayed)})`);
  await q.save(entry);
  if (wasRunning) {
    // From here the entry holds a change: a failure to stop is reported in it, not thrown away.
    try {
      const stopped = await stopService(name, SERVICE_WAIT_MS, ctx.signal);
      entry.actions.push(
        stopped
          ? `service ${name} stopped`
          : `service ${name} did not stop within ${SERVICE_WAIT_MS / 1000} s: still running (disabled: it will not start again)`,
      );
    } catch (e) {
      entry.actions.push(`service ${name} not stopped: ${reasonOf(e)} (disabled: it will not start again)`);
    }
  } else entry.actions.push(`service ${name} was not running`);
  entry.actions.push('its binary is not quarantined (remediate file does that)');
}

async function undoService(entry: QuarantineEntry): Promise<string[]> {
  const notes: string[] = [];
  for (const s of entry.services) {
    try {
      const now = readServiceState(s.name);
      const delayedNow = now.delayedKnown ? now.delayedAutoStart : delayedFromKey(s.name);
      setStartType(s.name, s.startType, delayedNow !== s.delayedAutoStart ? s.delayedAutoStart : undefined);
    } catch (e) {
      throw serviceFailure('undo', s.name, e);
    }
    notes.push(`service ${s.name} set back to ${startTypeName(s.startType, s.delayedAutoStart)}`);
    if (!s.wasRunning) {
      notes.push(`service ${s.name} not started: it was not running when it was remediated`);
      continue;
    }
    try {
      const state = await startService(s.name, SERVICE_WAIT_MS);
      notes.push(
        state === 4
          ? `service ${s.name} started again (it was running)`
          : `service ${s.name} start requested (it was running); state now ${state}`,
      );
    } catch (e) {
      notes.push(`service ${s.name} was running but could not be started again: ${reasonOf(e)}`);
    }
  }
  return notes;
}

// ---- scheduled tasks -----------------------------------------------------------------------------------

const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

async function remediateTask(q: Quarantine, entry: QuarantineEntry, target: string): Promise<void> {
  let task: ReturnType<typeof locateTask>;
  try {
    task = locateTask(target, taskStoreDir());
  } catch (e) {
    throw refusal('remediate', `scheduledtask: ${describeError(e)}`);
  }
  const st = await fsp.lstat(task.file).catch((e: unknown) => {
    throw refusal(
      'remediate',
      `scheduledtask: ${task.name}: ${fsReason(e)} (see scheduledtasks)`,
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'failed',
    );
  });
  if (st.isDirectory())
    throw refusal('remediate', `scheduledtask: ${task.name} is a task folder: remediate its tasks one by one`);
  if (isMicrosoftTask(task.name)) {
    // Windows' own tasks only when persistence flags them: their program is outside the usual folders.
    const def = await readTask(task.file, task.name);
    const launch = def.command ? resolveLaunch(def.command, { env: process.env, isFile }) : null;
    if (!launch || !isUnusualLocation(launch.path, process.env))
      throw refusal(
        'remediate',
        `scheduledtask: ${task.name}: refused: a Windows task whose program is in the Windows or Program Files folders`,
      );
  }
  entry.target = task.name;
  await q.takeFile(entry, task.file, task.file).catch((e: unknown) => {
    if (e instanceof CommandError) throw e;
    throw refusal('remediate', `scheduledtask: ${task.name}: ${fsReason(e)}`, 'failed');
  });
  entry.actions.push(`task ${task.name} removed from the task store (its definition is in the quarantine)`);
  await takeTaskCache(q, entry, task.name);
}

/**
 * The task's TaskCache keys (the Task Scheduler service loads tasks, actions included, from there): every
 * value saved with its type and bytes, then the keys deleted. A failure is told in the entry, which already
 * holds the definition file: nothing is lost, undo puts back whatever was taken.
 */
async function takeTaskCache(q: Quarantine, entry: QuarantineEntry, name: string): Promise<void> {
  let keys: RegistryPath[];
  try {
    keys = taskCacheKeys(name);
  } catch (e) {
    entry.actions.push(`its TaskCache entries could not be read: ${reasonOf(e)} (left as they are)`);
    return;
  }
  if (keys.length === 0) {
    entry.actions.push('no TaskCache entry for it in the registry');
    return;
  }
  const saved: SavedValue[] = [];
  try {
    for (const k of keys) saved.push(...(readSavedKey(k) ?? []));
  } catch (e) {
    entry.actions.push(`its TaskCache entries could not be saved: ${reasonOf(e)} (left as they are)`);
    return;
  }
  entry.registryValues.push(...saved);
  await q.save(entry);
  try {
    for (const k of keys) deleteKey(k);
    entry.actions.push(
      `its TaskCache keys deleted (${keys.map((k) => k.display.replace(/^.*\\TaskCache\\/, '')).join(', ')}; ${saved.length - keys.length} values kept for undo); a running Task Scheduler service may keep the task it loaded until it restarts`,
    );
  } catch (e) {
    entry.actions.push(`its TaskCache keys not all deleted: ${reasonOf(e)}`);
  }
}

/** The TaskCache keys first (keys before their values), then the definition file. */
async function undoTask(ctx: JobContext, q: Quarantine, entry: QuarantineEntry): Promise<string[]> {
  for (const f of entry.files) {
    if (
      await fsp.lstat(f.host).then(
        () => true,
        () => false,
      )
    )
      throw refusal(
        'undo',
        `scheduledtask: ${f.path} exists again on the device: move it away first (nothing was restored)`,
      );
  }
  const notes: string[] = [];
  const ordered = [
    ...entry.registryValues.filter((v) => v.type === KEY_ITSELF),
    ...entry.registryValues.filter((v) => v.type !== KEY_ITSELF),
  ];
  for (const v of ordered) {
    try {
      writeSavedValue(v);
    } catch (e) {
      throw refusal('undo', `scheduledtask: ${reasonOf(e)}`, 'failed');
    }
  }
  const keys = ordered.filter((v) => v.type === KEY_ITSELF).length;
  if (keys > 0) notes.push(`its TaskCache keys restored (${keys} keys, ${ordered.length - keys} values)`);
  notes.push(...(await q.restore(entry, ctx.jobId, 'undo')));
  notes.push(`task ${entry.target} is back in the task store`);
  return notes;
}

// ---- dispatch ------------------------------------------------------------------------------------------

export async function remediateWindowsConfig(
  ctx: JobContext,
  q: Quarantine,
  entry: QuarantineEntry,
  target: string,
  _auto: boolean,
): Promise<void> {
  switch (entry.type) {
    case 'registry':
      return remediateRegistry(q, entry, target);
    case 'service':
      return remediateService(ctx, q, entry, target);
    case 'scheduledtask':
      return remediateTask(q, entry, target);
    default:
      throw new CommandError(`remediate: ${entry.type}: not a configuration type`, 'failed');
  }
}

export async function undoWindowsConfig(ctx: JobContext, q: Quarantine, entry: QuarantineEntry): Promise<string[]> {
  if (entry.type === 'scheduledtask') return undoTask(ctx, q, entry);
  const notes = entry.type === 'registry' ? undoRegistry(entry) : await undoService(entry);
  entry.restoredAt = new Date().toISOString();
  entry.restoredByJob = ctx.jobId ?? null;
  entry.restoreNotes = notes;
  await q.save(entry);
  return notes;
}
