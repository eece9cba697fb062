/**
 * The one-line `detail` of a persistence record: what the file makes the system do, read from its
 * content (the ExecStart of a unit, how many keys an authorized_keys holds, what ld.so.preload loads...).
 */
import path from 'node:path';
import { parseAnacrontab, parseAtJob, parseCrontab } from './crontab.js';
import { parseDesktopEntry } from './desktop-entry.js';
import { timerSchedule } from './scheduled-tasks.js';
import { scriptCommands } from './startup-items.js';
import { directives, parseUnitText } from './systemd-units.js';

export type DetailOf = (text: string, devicePath: string) => string | null;

const MAX_DETAIL = 300;

function clip(s: string): string {
  return s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL - 1)}…` : s;
}

function meaningfulLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

export const details = {
  crontab:
    (format: 'system' | 'user' | 'anacron'): DetailOf =>
    (text) => {
      const entries = format === 'anacron' ? parseAnacrontab(text) : parseCrontab(text, format === 'system');
      return plural(entries.length, 'cron line');
    },
  cronPeriod:
    (period: string): DetailOf =>
    () =>
      `run by cron ${period}`,
  atJob: (): DetailOf => (text, devicePath) => {
    const job = parseAtJob(path.posix.basename(devicePath), text);
    return clip(`at ${job.runAt ?? 'unknown time'}: ${job.command}`);
  },
  unit: (): DetailOf => (text, devicePath) => {
    const sections = parseUnitText(text);
    if (devicePath.endsWith('.timer')) return clip(timerSchedule(sections));
    const exec = directives(sections, 'Service', 'ExecStart');
    if (exec.length > 0) return clip(`ExecStart=${exec.join(' ; ')}`);
    return null;
  },
  initScript: (): DetailOf => (text) => {
    const m = /^#\s*Short-Description:\s*(.+)$/m.exec(text);
    return m ? clip((m[1] as string).trim()) : null;
  },
  rcLocal: (): DetailOf => (text) => clip(scriptCommands(text)) || 'no commands',
  shellRc: (): DetailOf => (text) => plural(meaningfulLines(text).length, 'line'),
  ldPreload: (): DetailOf => (text) => {
    const libs = meaningfulLines(text)
      .flatMap((l) => l.split(/[\s:]+/))
      .filter(Boolean);
    return libs.length > 0 ? clip(`preloads ${libs.join(', ')}`) : 'empty';
  },
  authorizedKeys: (): DetailOf => (text) => {
    const keys = meaningfulLines(text);
    const forced = keys.filter((k) => /(^|,)command="/.test(k)).length;
    return plural(keys.length, 'key') + (forced > 0 ? ` (${forced} with a forced command)` : '');
  },
  udevRules: (): DetailOf => (text) => {
    const rules = meaningfulLines(text);
    const runs = rules.flatMap((r) =>
      [...r.matchAll(/\b(?:RUN|PROGRAM)\{?[a-z]*\}?\+?=\s*"([^"]*)"/g)].map((m) => m[1] as string),
    );
    return clip(plural(rules.length, 'rule') + (runs.length > 0 ? `; runs ${runs.join(', ')}` : ''));
  },
  modulesLoad: (): DetailOf => (text) => {
    const modules = meaningfulLines(text)
      .filter((l) => !l.startsWith(';'))
      .map((l) => l.split(/\s+/)[0] as string);
    return modules.length > 0 ? clip(`loads ${modules.join(', ')}`) : 'empty';
  },
  desktop: (): DetailOf => (text) => {
    const d = parseDesktopEntry(text);
    return d.exec ? clip(`Exec=${d.exec}${d.disabled ? ' (disabled)' : ''}`) : null;
  },
};
