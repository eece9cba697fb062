/**
 * remediate / undo on Windows: file, process, startupfolder.
 * - file: refused for the agent's own files (node.exe and lr-agent.js running it, its data folder), files
 *   Windows needs to boot (windows/quarantine-deny.ts) and anything not on a local drive (windows/paths.ts);
 *   a running image only with -auto, which terminates its processes first. The file goes to the quarantine
 *   (../../quarantine.ts: bytes, SHA-256, times) with its Windows extras (attributes, creation time, owner and
 *   DACL as SDDL when readable: windows/file-security.ts). Read-only, hidden and system are cleared before
 *   the move, so the quarantined copy never carries an attribute that blocks the move back.
 * - process: by pid or image name (every process with that name, case-insensitive); terminated (its tree,
 *   children first, with -auto). Refused: pids 0 and 4, the agent and its ancestors, the critical processes.
 *   Its image is NOT quarantined (unlike Linux): on Windows the image is often a signed binary shared by
 *   other programs; `remediate file PATH -auto` takes it when the analyst decides so. The actions say it.
 * - startupfolder: an item of a Startup folder, by path or by name as `startupfolders` lists it; quarantined
 *   like a file.
 * undo puts the bytes back (Quarantine.restore), then the security descriptor, creation time and attributes;
 * each step that fails or reads back differently is a note, never a silent skip.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CommandError, type JobContext } from '../../command.js';
import { devicePath } from '../../fs/device-path.js';
import { fsReason } from '../../fs/fs-errors.js';
import { realPath } from '../../protected-paths.js';
import type { Quarantine, QuarantineEntry } from '../../quarantine.js';
import { attributeString } from '../../platform/windows/file-attributes.js';
import {
  BLOCKING_ATTRIBUTES,
  readAttributesAndCreation,
  readFileExtras,
  readSddl,
  setAttributes,
  setCreationTime,
  setSddl,
  SETTABLE_ATTRIBUTES,
} from '../../platform/windows/file-security.js';
import { windowsWithin } from '../../platform/windows/paths.js';
import {
  bootCriticalProblem,
  isCriticalProcessName,
  KERNEL_PIDS,
  sameWindowsPath,
} from '../../platform/windows/quarantine-deny.js';
import { ancestorChain } from '../../platform/windows/quarantine-tree.js';
import { processSnapshot, type SnapshotProcess } from '../../platform/windows/toolhelp.js';
import { readStartupFolders, startupFolders } from '../../platform/windows/startup-items.js';
import { describeError } from '../../../shared/errors.js';

const fail = (m: string, code: 'refused' | 'not_found' | 'failed' = 'failed') =>
  new CommandError(`remediate: ${m}`, code);

/** A failure's reason: a refusal as it is, a file system error in words. */
function reason(e: unknown): string {
  if (e instanceof CommandError) return e.message.replace(/^(remediate|undo): /, '');
  return (e as NodeJS.ErrnoException).code ? fsReason(e) : describeError(e);
}

/** %SystemRoot% as this agent sees it. */
function systemRoot(): string {
  return process.env.SystemRoot ?? process.env.SYSTEMROOT ?? process.env.windir ?? 'C:\\Windows';
}

/** The files running this agent: the node.exe and the script (lr-agent.js). */
function agentFiles(): string[] {
  return [process.execPath, process.argv[1]].filter((x): x is string => typeof x === 'string' && x.length > 0);
}

/** Refuses, in one line, a file the agent runs from or Windows boots from; checked on the path and its real path. */
async function refuseUntouchable(file: string): Promise<void> {
  const real = await realPath(file).catch(() => file);
  for (const candidate of [file, real]) {
    for (const own of agentFiles()) {
      const ownReal = await realPath(own).catch(() => own);
      if (sameWindowsPath(candidate, own) || sameWindowsPath(candidate, ownReal))
        throw fail(`refused: ${file} is a file running this agent (${path.win32.basename(own)})`, 'refused');
    }
    const boot = bootCriticalProblem(candidate, systemRoot());
    if (boot) throw fail(`${file}: ${boot}`, 'refused');
  }
}

/** Why a pid must never be terminated (kernel, critical process, the agent or its ancestors), or null. */
function untouchableProcess(p: SnapshotProcess, own: Set<number>): string | null {
  if ((KERNEL_PIDS as readonly number[]).includes(p.pid)) return `pid ${p.pid} is the kernel`;
  if (own.has(p.pid)) return `pid ${p.pid} (${p.name}) is this agent or one of its parents`;
  if (isCriticalProcessName(p.name)) return `pid ${p.pid} is ${p.name}, a process Windows cannot run without`;
  return null;
}

/** The remediate-file prerequisite: processes whose image is `file` are refused without -auto, terminated with it. */
async function stopRunners(ctx: JobContext, entry: QuarantineEntry, file: string, auto: boolean): Promise<void> {
  const real = await realPath(file).catch(() => file);
  const runners = (await ctx.platform.listProcesses(ctx.signal)).filter(
    (p) => p.path !== null && (sameWindowsPath(p.path, file) || sameWindowsPath(p.path, real)),
  );
  if (runners.length === 0) return;
  const pids = runners.map((p) => p.pid);
  const them = pids.length > 1 ? 'them' : 'it';
  if (!auto)
    throw fail(
      `${file} is the image of running process${pids.length > 1 ? 'es' : ''} ${pids.join(', ')}: add -auto to stop ${them} first (nothing was changed)`,
      'refused',
    );
  const snapshot = processSnapshot();
  const own = ancestorChain(process.pid, snapshot);
  for (const r of runners) {
    const why = untouchableProcess({ pid: r.pid, ppid: r.ppid ?? 0, name: r.name }, own);
    if (why) throw fail(`${file} runs as ${why}: refused (nothing was changed)`, 'refused');
  }
  for (const pid of pids) {
    const r = await ctx.platform.stopProcess(pid, { tree: false }).catch((e: Error) => {
      throw fail(`process ${pid} running ${file}: ${e.message} (nothing was quarantined)`);
    });
    if (r.survivors.length > 0)
      throw fail(`process ${pid} running ${file} could not be stopped (nothing was quarantined)`);
    entry.actions.push(`process ${pid} running it terminated (TerminateProcess)`);
  }
}

/** Moves a file into the entry with its Windows extras (checks done by the caller). */
async function takeWindowsFile(q: Quarantine, entry: QuarantineEntry, file: string): Promise<void> {
  await q.refuseProtected(file);
  const st = await fsp.lstat(file).catch((e: unknown) => {
    throw fail(`${file}: ${reason(e)}`, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'failed');
  });
  if (!st.isFile()) throw fail(`${file} is not a regular file`, 'refused');
  const extras = readFileExtras(file);
  const cleared = extras.attributes & BLOCKING_ATTRIBUTES;
  if (cleared) setAttributes(file, extras.attributes & ~BLOCKING_ATTRIBUTES);
  let taken;
  try {
    taken = await q.takeFile(entry, file, file);
  } catch (e) {
    if (cleared) {
      try {
        setAttributes(file, extras.attributes);
      } catch {
        // the file may be gone half-way (copied, not removed): the error below says what happened
      }
    }
    if (e instanceof CommandError) throw e;
    throw fail(`${file}: ${reason(e)}`);
  }
  taken.windows = { attributes: extras.attributes, birthtimeMs: extras.birthtimeMs, sddl: extras.sddl };
  entry.actions.push(
    `kept for undo: attributes ${attributeString(extras.attributes)}, created ${new Date(extras.birthtimeMs).toISOString()}, ` +
      (extras.sddl === null
        ? `security descriptor not readable (${extras.sddlError ?? 'unknown reason'}): undo leaves the folder's inherited one`
        : `security descriptor ${extras.sddl}`),
  );
  await q.save(entry);
}

async function remediateFile(
  ctx: JobContext,
  q: Quarantine,
  entry: QuarantineEntry,
  target: string,
  auto: boolean,
): Promise<void> {
  const file = devicePath(ctx, 'remediate', target);
  entry.target = file;
  await refuseUntouchable(file);
  await q.refuseProtected(file);
  await stopRunners(ctx, entry, file, auto);
  await takeWindowsFile(q, entry, file);
}

/** The pids a `remediate process` target names: a pid, or every process with that image name. */
function processTargets(target: string, snapshot: readonly SnapshotProcess[]): SnapshotProcess[] {
  if (/^\d+$/.test(target)) {
    const pid = Number(target);
    if ((KERNEL_PIDS as readonly number[]).includes(pid))
      throw fail(`process ${pid} is the kernel: refused`, 'refused');
    const p = snapshot.find((x) => x.pid === pid);
    if (!p) throw fail(`process ${pid}: no such process`, 'not_found');
    return [p];
  }
  if (/[\\/]/.test(target))
    throw fail(
      `process: ${target}: give a pid or an image name (evil.exe); to quarantine a file use remediate file`,
      'refused',
    );
  const name = target.toLowerCase();
  const found = snapshot.filter((p) => p.name.toLowerCase() === name || p.name.toLowerCase() === `${name}.exe`);
  if (found.length === 0) throw fail(`process: no running process named ${target}`, 'not_found');
  return found;
}

async function remediateProcess(
  ctx: JobContext,
  q: Quarantine,
  entry: QuarantineEntry,
  target: string,
  auto: boolean,
): Promise<void> {
  const snapshot = processSnapshot();
  const targets = processTargets(target, snapshot);
  const own = ancestorChain(process.pid, snapshot);
  // Every target is judged before anything is terminated: a refusal changes nothing.
  for (const p of targets) {
    const why = untouchableProcess(p, own);
    if (why) throw fail(`process: ${why}: refused`, 'refused');
  }
  let stoppedAny = false;
  for (const p of targets) {
    const image = await ctx.platform.processImage(p.pid).catch(() => null);
    let r;
    try {
      r = await ctx.platform.stopProcess(p.pid, { tree: auto });
    } catch (e) {
      entry.actions.push(`process ${p.pid} (${p.name}): ${describeError(e)}`);
      continue;
    }
    const tree = r.stopped.filter((x) => x !== p.pid);
    if (r.stopped.includes(p.pid)) {
      stoppedAny = true;
      entry.actions.push(
        auto
          ? `process tree of ${p.pid} (${p.name}) terminated: pids ${r.stopped.join(', ')}`
          : `process ${p.pid} (${p.name}) terminated (TerminateProcess)`,
      );
    } else if (tree.length > 0) {
      stoppedAny = true;
      entry.actions.push(`descendants of ${p.pid} (${p.name}) terminated: pids ${tree.join(', ')}`);
    }
    if (r.survivors.length > 0) entry.actions.push(`pids still alive: ${r.survivors.join(', ')}`);
    entry.actions.push(
      image
        ? `image ${image} not quarantined (on Windows remediate process never takes the image: remediate file ${image} does)`
        : `image of ${p.pid} unreadable: not quarantined`,
    );
  }
  if (!stoppedAny) throw fail(`process ${target} could not be stopped: ${entry.actions.join('; ')}`);
  await q.save(entry);
}

/** The Startup-folder item a target names (its path, or its name as `startupfolders` lists it). */
async function locateStartupItem(ctx: JobContext, target: string): Promise<string> {
  const folders = await startupFolders();
  if (/[\\/:]/.test(target)) {
    const file = devicePath(ctx, 'remediate', target);
    if (!folders.some((f) => windowsWithin(file, f.dir) && sameWindowsPath(path.win32.dirname(file), f.dir))) {
      throw fail(`startupfolder: ${file} is not an item of a Startup folder (see startupfolders)`, 'refused');
    }
    return file;
  }
  const items = (await readStartupFolders(folders, ctx.signal)).filter(
    (i) =>
      i.kind === 'startup-folder' &&
      i.name.toLowerCase() === target.toLowerCase() &&
      i.path !== path.win32.dirname(i.path),
  );
  if (items.length === 0)
    throw fail(`startupfolder: no startup item ${target} (see startupfolders: path or name)`, 'not_found');
  if (items.length > 1)
    throw fail(
      `startupfolder: ${target} is in several Startup folders (${items.map((i) => i.path).join(', ')}): give its path`,
      'refused',
    );
  return items[0]!.path;
}

export async function remediateWindowsFiles(
  ctx: JobContext,
  q: Quarantine,
  entry: QuarantineEntry,
  target: string,
  auto: boolean,
): Promise<void> {
  switch (entry.type) {
    case 'file':
      return remediateFile(ctx, q, entry, target, auto);
    case 'process':
      return remediateProcess(ctx, q, entry, target, auto);
    case 'startupfolder': {
      const file = await locateStartupItem(ctx, target);
      entry.target = file;
      await refuseUntouchable(file);
      return takeWindowsFile(q, entry, file);
    }
    default:
      throw fail(`${entry.type}: not a file, process or startupfolder remediation`);
  }
}

/**
 * Puts back the Windows extras of one restored file: security descriptor, creation time, attributes, then
 * reads all three back once every step ran (on Wine a DACL maps to the read-only bit and back, so a value is
 * judged only at the end). One line for what reads back as recorded, one note per step that failed or reads
 * back differently.
 */
function restoreExtras(file: QuarantineEntry['files'][number]): string[] {
  const w = file.windows;
  if (!w) return [`${file.path}: no Windows attributes were recorded: only bytes and times restored`];
  const notes: string[] = [];
  const applied = new Set<'sddl' | 'created' | 'attributes'>();
  const step = (what: 'sddl' | 'created' | 'attributes', label: string, f: () => void): void => {
    try {
      f();
      applied.add(what);
    } catch (e) {
      notes.push(`${label} of ${file.path} not restored: ${describeError(e)}`);
    }
  };
  if (w.sddl === null)
    notes.push(
      `security descriptor of ${file.path} not restored: it was not readable when quarantined (the folder's inherited one applies)`,
    );
  else step('sddl', 'security descriptor', () => setSddl(file.host, w.sddl as string));
  step('created', 'creation time', () => setCreationTime(file.host, w.birthtimeMs));
  step('attributes', 'attributes', () => setAttributes(file.host, w.attributes));
  const done: string[] = [];
  try {
    const now = readAttributesAndCreation(file.host);
    if (applied.has('sddl')) {
      const sddl = readSddl(file.host, w.sddl as string);
      if (sddl === w.sddl) done.push('security descriptor');
      else notes.push(`security descriptor of ${file.path} set but reads back as ${sddl}, not ${w.sddl}`);
    }
    if (applied.has('created')) {
      if (Math.abs(now.birthtimeMs - w.birthtimeMs) < 0.001)
        done.push(`creation time ${new Date(w.birthtimeMs).toISOString()}`);
      else
        notes.push(
          `creation time of ${file.path} set but reads back as ${new Date(now.birthtimeMs).toISOString()}, not ${new Date(w.birthtimeMs).toISOString()}`,
        );
    }
    if (applied.has('attributes')) {
      if ((now.attributes & SETTABLE_ATTRIBUTES) === (w.attributes & SETTABLE_ATTRIBUTES))
        done.push(`attributes ${attributeString(w.attributes)}`);
      else
        notes.push(
          `attributes of ${file.path} set but read back as ${attributeString(now.attributes)}, not ${attributeString(w.attributes)}`,
        );
    }
  } catch (e) {
    notes.push(`${file.path} unreadable after restore: ${describeError(e)}`);
  }
  if (done.length > 0) notes.unshift(`${file.path}: ${done.join(', ')} restored`);
  return notes;
}

export async function undoWindowsFiles(ctx: JobContext, q: Quarantine, entry: QuarantineEntry): Promise<string[]> {
  const notes = await q.restore(entry, ctx.jobId, 'undo');
  for (const f of entry.files) {
    notes.push(...restoreExtras(f));
    const st = await fsp.stat(f.host).catch(() => null);
    if (st && Math.abs(st.mtimeMs - f.mtimeMs) >= 1)
      notes.push(
        `last write time of ${f.path} reads back as ${st.mtime.toISOString()}, not ${new Date(f.mtimeMs).toISOString()}`,
      );
  }
  if (entry.type === 'process') notes.push('the process itself is not restarted (its image was not quarantined)');
  return notes;
}
