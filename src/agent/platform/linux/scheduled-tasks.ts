/**
 * Scheduled tasks: cron (system crontab, /etc/cron.d, per-user spools, the /etc/cron.<period> folders,
 * anacrontab), systemd timers (system and per-user) with the command of the unit they start, and
 * pending at jobs.
 */
import path from 'node:path';
import type { ScheduledTaskInfo } from '../types.js';
import { parseAnacrontab, parseAtJob, parseCrontab } from './crontab.js';
import type { Sysroot } from './sysroot.js';
import { directive, directives, loadUnits, SYSTEM_UNIT_DIRS, type UnitSections } from './systemd-units.js';

export const CRON_PERIOD_DIRS = ['hourly', 'daily', 'weekly', 'monthly'] as const;
export const AT_SPOOLS = ['/var/spool/cron/atjobs', '/var/spool/at'] as const;

export type CrontabFormat = 'system' | 'user' | 'anacron';

export interface CrontabFile {
  path: string;
  format: CrontabFormat;
  /** For per-user crontabs: the owner named by the file name. */
  user: string | null;
}

/** Every crontab file on the device. Debian spools per-user tables in crontabs/, Red Hat in the folder itself. */
export async function crontabFiles(root: Sysroot): Promise<CrontabFile[]> {
  const files: CrontabFile[] = [];
  if (await root.lstat('/etc/crontab')) files.push({ path: '/etc/crontab', format: 'system', user: null });
  if (await root.lstat('/etc/anacrontab')) files.push({ path: '/etc/anacrontab', format: 'anacron', user: null });
  for (const entry of await root.listQuiet('/etc/cron.d')) {
    if (!entry.dirent.isDirectory() && !entry.name.startsWith('.'))
      files.push({ path: entry.path, format: 'system', user: null });
  }
  for (const spool of ['/var/spool/cron/crontabs', '/var/spool/cron']) {
    for (const entry of await root.listQuiet(spool)) {
      if (entry.dirent.isFile() && !entry.name.startsWith('.'))
        files.push({ path: entry.path, format: 'user', user: entry.name });
    }
  }
  return files;
}

/** Scripts run by run-parts from /etc/cron.<period>/ (dot files such as .placeholder are not run). */
export async function cronPeriodScripts(root: Sysroot): Promise<Array<{ path: string; period: string }>> {
  const scripts: Array<{ path: string; period: string }> = [];
  for (const period of CRON_PERIOD_DIRS) {
    for (const entry of await root.listQuiet(`/etc/cron.${period}`)) {
      if (!entry.dirent.isDirectory() && !entry.name.startsWith('.')) scripts.push({ path: entry.path, period });
    }
  }
  return scripts;
}

export async function atJobFiles(root: Sysroot): Promise<string[]> {
  const files: string[] = [];
  for (const spool of AT_SPOOLS) {
    for (const entry of await root.listQuiet(spool))
      if (entry.dirent.isFile() && !entry.name.startsWith('.')) files.push(entry.path);
  }
  return files;
}

const TIMER_KEYS = [
  'OnCalendar',
  'OnBootSec',
  'OnStartupSec',
  'OnActiveSec',
  'OnUnitActiveSec',
  'OnUnitInactiveSec',
] as const;

/** `OnCalendar=daily; OnBootSec=15min` from a timer's [Timer] section. */
export function timerSchedule(sections: UnitSections): string {
  const parts: string[] = [];
  for (const key of TIMER_KEYS) for (const v of directives(sections, 'Timer', key)) parts.push(`${key}=${v}`);
  return parts.length > 0 ? parts.join('; ') : 'no trigger';
}

/** The unit a timer starts: `Unit=` or the timer's own name with `.service`. */
export function timerTarget(name: string, sections: UnitSections): string {
  return directive(sections, 'Timer', 'Unit') ?? name.replace(/\.timer$/, '.service');
}

async function cronTasks(root: Sysroot): Promise<ScheduledTaskInfo[]> {
  const tasks: ScheduledTaskInfo[] = [];
  for (const file of await crontabFiles(root)) {
    const text = await root.readText(file.path).catch(() => null);
    if (text === null) continue;
    const entries = file.format === 'anacron' ? parseAnacrontab(text) : parseCrontab(text, file.format === 'system');
    for (const entry of entries) {
      tasks.push({
        kind: 'cron',
        source: file.path,
        user: entry.user ?? file.user,
        schedule: entry.schedule,
        command: entry.command,
        line: entry.line,
      });
    }
  }
  for (const s of await cronPeriodScripts(root)) {
    tasks.push({ kind: 'cron', source: s.path, user: 'root', schedule: s.period, command: s.path, line: null });
  }
  return tasks;
}

async function timerTasks(
  root: Sysroot,
  dirs: readonly string[],
  defaultUser: string | null,
): Promise<ScheduledTaskInfo[]> {
  const [timers, services] = await Promise.all([loadUnits(root, '.timer', dirs), loadUnits(root, '.service', dirs)]);
  const tasks: ScheduledTaskInfo[] = [];
  for (const timer of timers.values()) {
    if (timer.masked) continue; // a masked timer never fires
    const target = services.get(timerTarget(timer.name, timer.sections));
    const exec = target ? directives(target.sections, 'Service', 'ExecStart') : [];
    tasks.push({
      kind: 'systemd-timer',
      source: timer.path,
      user: (target && directive(target.sections, 'Service', 'User')) ?? defaultUser,
      schedule: timerSchedule(timer.sections),
      command: exec.length > 0 ? exec.join(' ; ') : timerTarget(timer.name, timer.sections),
      line: null,
    });
  }
  return tasks;
}

async function atTasks(root: Sysroot): Promise<ScheduledTaskInfo[]> {
  const accounts = await root.accounts();
  const tasks: ScheduledTaskInfo[] = [];
  for (const file of await atJobFiles(root)) {
    const text = await root.readText(file).catch(() => null);
    if (text === null) continue;
    const job = parseAtJob(path.posix.basename(file), text);
    let user: string | null = job.uid === null ? null : accounts.user(job.uid);
    if (user === null) {
      const st = await root.lstat(file).catch(() => null);
      user = st ? accounts.user(st.uid) : null;
    }
    tasks.push({ kind: 'at', source: file, user, schedule: job.runAt ?? 'unknown', command: job.command, line: null });
  }
  return tasks;
}

export async function listScheduledTasks(root: Sysroot, signal?: AbortSignal): Promise<ScheduledTaskInfo[]> {
  const tasks = await cronTasks(root);
  signal?.throwIfAborted();
  tasks.push(...(await timerTasks(root, SYSTEM_UNIT_DIRS, 'root')));
  for (const home of await root.homes()) {
    signal?.throwIfAborted();
    tasks.push(...(await timerTasks(root, [path.posix.join(home.path, '.config/systemd/user')], home.user)));
  }
  tasks.push(...(await atTasks(root)));
  return tasks;
}
