/**
 * remediate file|process|service|scheduledtask|startupfolder TARGET [-auto] | remediate list.
 * Nothing is deleted outright: files go to the agent's quarantine (see ../quarantine.ts) with everything
 * `undo` needs. file: quarantined (a running image only with -auto, which stops its processes first). process: stopped
 * (SIGTERM, SIGKILL after a grace; its whole tree with
 * -auto), then its image quarantined (never a system binary). service: stopped (on a live systemd only),
 * its enablement links removed, its unit file quarantined. scheduledtask: `SOURCE:LINE` removes that
 * cron line; a timer unit is disabled and quarantined like a service; a /etc/cron.<period> script is
 * quarantined. startupfolder: the XDG autostart entry / profile.d item / rc.local is quarantined.
 * Configuration paths (units, crontabs, startup items) are device paths under the platform's sysroot;
 * `file` targets and process images are live paths, like getfile's. Every path is normalised and its
 * links resolved before it is checked; nothing in a protected folder (../protected-paths.ts: the agent's
 * own data, a service's) is ever taken, whichever kind names it. System-critical files and units (the
 * deny-list in ../platform/linux/quarantine-deny.ts: account databases, the loader, /bin, /usr/lib, /boot...)
 * are refused without -force; the agent itself, init and the agent's parents even with it.
 */
import { readFileSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import { CommandError, defineCommand, type JobContext } from '../command.js';
import { entryRecord, Quarantine, type QuarantineEntry } from '../quarantine.js';
import { fsReason } from '../fs/fs-errors.js';
import { hashFile } from '../fs/hash.js';
import { realPath } from '../protected-paths.js';
import {
  agentFileRule,
  criticalFileRule,
  criticalRefusal,
  criticalUnitRule,
  unitOfCgroup,
  type AgentSelf,
} from '../platform/linux/quarantine-deny.js';
import { notOnThisOs, remediateOnWindows } from './support/remediate-windows.js';
import { describeError } from '../../shared/errors.js';

/** Folders whose binaries a process remediation never quarantines (they belong to the system). */
const SYSTEM_DIRS = ['/usr/', '/bin/', '/sbin/', '/lib/', '/lib64/', '/lib32/', '/etc/', '/boot/', '/opt/'];

export function unitKey(target: string): string {
  if (target.includes('/')) return path.posix.basename(target);
  return /\.(service|timer|socket|path|target|mount)$/.test(target) ? target : `${target}.service`;
}

function ancestors(pid: number): Set<number> {
  const out = new Set<number>([pid]);
  let p = process.ppid;
  for (let i = 0; i < 64 && p > 1; i++) {
    out.add(p);
    try {
      p = parentOf(p);
    } catch {
      break;
    }
  }
  return out;
}

function parentOf(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
}

type Ctx = JobContext;

/**
 * `-sha256`: the file must still be the one the analyst was shown (the workstation asks y/N with its hash,
 * then pins it), else nothing is done: a file swapped between the question and the answer is not taken.
 */
async function refuseChanged(ctx: Ctx, type: string, target: string, expected: string): Promise<void> {
  if (type !== 'file') throw new CommandError(`remediate: -sha256 applies to remediate file only`, 'refused');
  const p = ctx.resolvePath(target);
  let actual: string;
  try {
    actual = (await hashFile(p, ['sha256'], { signal: ctx.signal })).sha256;
  } catch (e) {
    throw new CommandError(`remediate: ${p}: cannot check its SHA-256 (${reason(e)}); nothing was done`, 'refused');
  }
  if (actual !== expected)
    throw new CommandError(
      `remediate: ${p} changed since it was shown: its SHA-256 is now ${actual}, not ${expected}; nothing was done`,
      'refused',
    );
}

/** The agent as the deny-list knows it: its program and node binary (real paths), its unit. */
async function agentSelf(): Promise<AgentSelf> {
  const program = await Promise.all(
    [process.execPath, process.argv[1]].filter((x): x is string => !!x).map((p) => realPath(p).catch(() => p)),
  );
  let unit: string | null = null;
  try {
    unit = unitOfCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  } catch {
    // no cgroup file: not under systemd
  }
  return { program, unit };
}

/**
 * Refuses a live path on the Linux deny-list (judged on its real path: a link to /etc/passwd is /etc/passwd),
 * unless -force; the agent's own program whatever the flags. Checked before anything is stopped or moved.
 */
async function refuseCritical(shown: string, force: boolean): Promise<void> {
  const real = await realPath(shown);
  const own = agentFileRule(real, await agentSelf());
  if (own)
    throw new CommandError(
      `remediate: ${shown}${real !== shown ? ` (${real})` : ''} is ${own}: refused, even with -force`,
      'refused',
    );
  if (force) return;
  const init = await fsp.readlink('/proc/1/exe').catch(() => null);
  const rule = criticalFileRule(real, init && (await realPath(init).catch(() => init)));
  if (rule) throw new CommandError(`remediate: ${criticalRefusal(shown, real, rule)}`, 'refused');
}

/** A failure's reason for the analyst: a refusal as it is, a file system error in words. */
function reason(e: unknown): string {
  if (e instanceof CommandError) return e.message.replace(/^remediate: /, '');
  return (e as NodeJS.ErrnoException).code ? fsReason(e) : describeError(e);
}

/** /etc/cron.d, /etc/cron.daily, ...: the folders whose scripts `remediate scheduledtask PATH` takes. */
const CRON_FOLDER = /^\/etc\/cron\.[A-Za-z0-9_-]+$/;

async function takeUnit(
  ctx: Ctx,
  q: Quarantine,
  entry: QuarantineEntry,
  target: string,
  command: string,
  force: boolean,
): Promise<boolean> {
  const unit = await ctx.platform.locateUnit(target);
  if (!unit) return false;
  entry.target = unit.name;
  const rule = criticalUnitRule(unit.name, await agentSelf());
  if (rule?.always)
    throw new CommandError(`${command}: ${unit.name} is ${rule.what}: refused, even with -force`, 'refused');
  if (rule && !force)
    throw new CommandError(`${command}: ${criticalRefusal(unit.name, unit.name, rule.what, 'unit')}`, 'refused');
  // Checked before anything is stopped: a refusal changes nothing.
  for (const p of [unit.path, ...unit.links.map((l) => l.path)]) await q.refuseProtected(ctx.platform.hostPath(p));
  entry.actions.push(await ctx.platform.stopUnit(unit.name));
  for (const l of unit.links) await q.takeLink(entry, l.path, ctx.platform.hostPath(l.path));
  if (unit.links.length === 0) entry.actions.push(`${unit.name} had no enablement links`);
  await q.takeFile(entry, unit.path, ctx.platform.hostPath(unit.path)).catch((e: unknown) => {
    if (e instanceof CommandError) throw e;
    throw new CommandError(`${command}: ${unit.path}: ${fsReason(e)}`);
  });
  await ctx.platform.reloadUnits();
  return true;
}

/**
 * The prerequisite step of `remediate file` (the reference's -auto): the processes running the file are
 * stopped before it is quarantined. Without -auto a running image is refused, so that quarantining a
 * file never leaves its process running unnoticed; nothing is stopped when the file is protected.
 */
async function stopRunners(
  ctx: Ctx,
  q: Quarantine,
  entry: QuarantineEntry,
  file: string,
  auto: boolean,
): Promise<void> {
  const fail = (m: string) => new CommandError(`remediate: ${m}`);
  await q.refuseProtected(file);
  const real = await fsp.realpath(file).catch(() => file);
  const pids = (await ctx.platform.listProcesses(ctx.signal))
    .filter((p) => p.path !== null && p.path.replace(/ \(deleted\)$/, '') === real)
    .map((p) => p.pid);
  if (pids.length === 0) return;
  if (!auto)
    throw fail(
      `${file} is the image of running process${pids.length > 1 ? 'es' : ''} ${pids.join(', ')}: add -auto to stop ${pids.length > 1 ? 'them' : 'it'} first (nothing was changed)`,
    );
  const own = ancestors(process.pid);
  const refused = pids.filter((pid) => pid <= 1 || own.has(pid));
  if (refused.length > 0)
    throw fail(`${file} runs as init, the agent or one of its parents (pid ${refused.join(', ')}): refused`);
  for (const pid of pids) {
    const r = await ctx.platform.stopProcess(pid, { tree: false }).catch((e: Error) => {
      throw fail(`process ${pid} running ${file}: ${e.message} (nothing was quarantined)`);
    });
    if (r.survivors.length > 0)
      throw fail(`process ${pid} running ${file} could not be stopped (nothing was quarantined)`);
    entry.actions.push(
      `process ${pid} running it stopped (${r.killed ? 'SIGKILL after the SIGTERM grace' : 'SIGTERM'})`,
    );
  }
}

async function remediate(
  ctx: Ctx,
  q: Quarantine,
  entry: QuarantineEntry,
  target: string,
  auto: boolean,
  force: boolean,
): Promise<void> {
  const fail = (m: string) => new CommandError(`remediate: ${m}`);
  switch (entry.type) {
    case 'file': {
      const p = ctx.resolvePath(target);
      entry.target = p;
      await q.refuseProtected(p); // the agent's data folder, a service's: their own refusal, first
      await refuseCritical(p, force);
      await stopRunners(ctx, q, entry, p, auto);
      await q.takeFile(entry, p, p).catch((e: unknown) => {
        if (e instanceof CommandError) throw e;
        throw fail(`${p}: ${reason(e)}`);
      });
      return;
    }
    case 'process': {
      if (!/^\d+$/.test(target)) throw fail(`process: ${target} is not a pid`);
      const pid = Number(target);
      if (pid <= 1 || ancestors(process.pid).has(pid))
        throw new CommandError(
          `remediate: process ${pid} is ${pid === 1 ? 'init (pid 1)' : pid === process.pid ? 'the agent itself' : 'init, the agent or one of its parents'}: refused, even with -force`,
          'refused',
        );
      const image = await ctx.platform.processImage(pid);
      const r = await ctx.platform.stopProcess(pid, { tree: auto }).catch((e: Error) => {
        throw fail(`process ${pid}: ${e.message}`);
      });
      if (r.stopped.length === 0 && r.survivors.length > 0)
        throw fail(`process ${pid} could not be stopped (not ours to kill?)`);
      entry.actions.push(
        auto
          ? `process tree of ${pid} stopped: pids ${r.stopped.join(', ')}`
          : `process ${pid} stopped (${r.killed ? 'SIGKILL after the SIGTERM grace' : 'SIGTERM'})`,
      );
      if (r.survivors.length > 0) entry.actions.push(`pids still alive: ${r.survivors.join(', ')}`);
      if (!image) entry.actions.push('image not quarantined: its path was unreadable');
      else if (SYSTEM_DIRS.some((d) => image.startsWith(d)))
        entry.actions.push(
          `image ${image} not quarantined: a system binary (use remediate file to quarantine it anyway)`,
        );
      else if (agentFileRule(await realPath(image), await agentSelf()))
        entry.actions.push(`image ${image} not quarantined: the agent runs from it too`);
      else {
        try {
          await q.takeFile(entry, image, image);
        } catch (e) {
          entry.actions.push(`image ${image} not quarantined: ${reason(e)}`);
        }
      }
      await q.save(entry);
      return;
    }
    case 'service':
      if (!(await takeUnit(ctx, q, entry, target, 'remediate', force)))
        throw fail(`service: no unit file for ${unitKey(target)} in the systemd unit folders`);
      return;
    case 'scheduledtask': {
      const cron = /^(\/.+):(\d+)$/.exec(target);
      if (cron) {
        const found = await ctx.platform.locateCronLine(cron[1] as string, Number(cron[2]));
        if (!found)
          throw fail(
            `scheduledtask: line ${cron[2]} of ${cron[1]} is not a cron entry (see scheduledtasks: source and line)`,
          );
        entry.target = `${found.path}:${found.line}`;
        await q.takeLine(entry, found.path, ctx.platform.hostPath(found.path), found.line, found.text);
        return;
      }
      if (/\.timer$/.test(target) && (await takeUnit(ctx, q, entry, target, 'remediate', force))) return;
      // Normalised before it is judged: /etc/cron.d/../../x is /x, not a cron script.
      const script = path.posix.normalize(target);
      if (script.startsWith('/etc/cron.')) {
        if (!CRON_FOLDER.test(path.posix.dirname(script)))
          throw fail(`scheduledtask: ${target}: not a script in a /etc/cron.<period> folder`);
        entry.target = script;
        await q.takeFile(entry, script, ctx.platform.hostPath(script)).catch((e: unknown) => {
          if (e instanceof CommandError) throw e;
          throw fail(`scheduledtask: ${target}: ${reason(e)}`);
        });
        return;
      }
      throw fail(
        `scheduledtask: ${target}: give SOURCE:LINE of a cron entry, a .timer unit or a /etc/cron.<period> script (see scheduledtasks)`,
      );
    }
    case 'startupfolder': {
      const p = await ctx.platform.locateStartupItem(target);
      if (!p) throw fail(`startupfolder: no startup item ${target} (see startupfolders: path or name)`);
      entry.target = p;
      await q.takeFile(entry, p, ctx.platform.hostPath(p)).catch((e: unknown) => {
        if (e instanceof CommandError) throw e;
        throw fail(`startupfolder: ${p}: ${reason(e)}`);
      });
      return;
    }
  }
}

export const remediateCommand = defineCommand({
  spec: commandSpec('remediate'),
  schema: paramsSchema(commandSpec('remediate')).extend({
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'a SHA-256 is 64 hexadecimal digits')
      .optional(),
  }),
  async run(ctx, params) {
    const q = Quarantine.of(ctx, 'remediate');
    if (params.type === 'list') {
      for (const listed of await q.list()) await ctx.emit(entryRecord(listed));
      return;
    }
    if (!params.target)
      throw new CommandError(`remediate: ${params.type} needs a target (remediate ${params.type} <target>)`, 'refused');
    if (params.sha256 !== undefined) await refuseChanged(ctx, params.type, params.target, params.sha256.toLowerCase());
    const entry = await q.newEntry(params.type, params.target, ctx.jobId);
    try {
      if (ctx.platform.name === 'win32') await remediateOnWindows(ctx, q, entry, params.target, params.auto === true);
      else if (entry.type === 'registry') throw notOnThisOs('registry', ctx.platform.name);
      else await remediate(ctx, q, entry, params.target, params.auto === true, params.force === true);
    } catch (e) {
      await q.discard(entry);
      throw e;
    }
    await q.save(entry);
    ctx.trace('info', `${entry.type} ${entry.target}: ${entry.actions.join('; ')}`);
    await ctx.emit(entryRecord(entry));
  },
});
