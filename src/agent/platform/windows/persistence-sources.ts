/**
 * The persistence entries of the areas other parts of the Windows layer list (services, scheduled tasks,
 * Startup folders): which of their records are worth an analyst's first look, and what each launches.
 * Pure (the registry read for a svchost ServiceDll is passed in): unit-tested under Linux.
 */
import type { ScheduledTaskInfo, ServiceInfo, StartupItemInfo } from '../types.js';
import { resolveLaunch, type Launch, type ResolveContext } from './persistence-command.js';

/** One persistence entry before its file is looked at. */
export interface Entry {
  category: string;
  /** Where: `HKLM\...\Run\Name`. */
  location: string;
  /** The command (or file) as stored. */
  command: string;
  owner: string;
  ctx: ResolveContext;
  /** Already resolved (svchost ServiceDll); otherwise the command is resolved. */
  launch?: Launch;
}

/**
 * Outside the Windows folder, the Program Files folders and Defender's platform folder (Defender updates
 * itself there, on every Windows): where a service or task binary is unusual.
 */
export function isUnusualLocation(file: string, env: ResolveContext['env']): boolean {
  const lower = file.toLowerCase();
  const get = (name: string) => Object.entries(env).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  const defender = `${get('ProgramData') ?? 'C:\\ProgramData'}\\Microsoft\\Windows Defender`;
  const usual = [
    get('SystemRoot') ?? 'C:\\Windows',
    get('ProgramFiles') ?? 'C:\\Program Files',
    get('ProgramFiles(x86)') ?? 'C:\\Program Files (x86)',
    get('ProgramW6432'),
    defender,
  ]
    .filter((d): d is string => typeof d === 'string' && d !== '')
    .map((d) => `${d.toLowerCase().replace(/\\+$/, '')}\\`);
  return !usual.some((d) => lower.startsWith(d));
}

/**
 * A service whose binary (or, for a service shared in svchost, its ServiceDll) is outside the usual folders;
 * null for the others. A service that is disabled and stopped (what `remediate service` leaves) starts no more:
 * it is not persistence (`services` still lists it). `serviceDll(key)` reads the ServiceDll of the service's key
 * (below HKLM).
 */
export function serviceEntry(
  s: ServiceInfo,
  ctx: ResolveContext,
  serviceDll: (key: string) => string | null,
): Entry | null {
  if (!s.execStart) return null;
  if (s.enabled === 'disabled' && s.state === 'stopped') return null;
  let launch = resolveLaunch(s.execStart, ctx);
  let location = `${s.unitPath}\\ImagePath`;
  let command = s.execStart;
  if (/\\svchost\.exe$/i.test(launch.path)) {
    // a shared service runs its ServiceDll inside svchost: that DLL is what persists
    const dll = serviceDll(s.unitPath.replace(/^HKLM\\/i, ''));
    if (dll) {
      launch = { ...resolveLaunch(`"${dll}"`, ctx), via: 'svchost.exe' };
      location = `${s.unitPath}\\Parameters\\ServiceDll`;
      command = dll;
    }
  }
  if (!isUnusualLocation(launch.path, ctx.env)) return null;
  return {
    category: 'service',
    location: `${location} (${s.name}: ${s.enabled}, ${s.state})`,
    command,
    owner: s.account ?? 'LocalSystem',
    ctx,
    launch,
  };
}

/** A task outside `\Microsoft\`, or one of Microsoft's whose program is outside the usual folders; null otherwise. */
export function taskEntry(t: ScheduledTaskInfo, ctx: ResolveContext): Entry | null {
  if (!t.command) return null;
  const launch = resolveLaunch(t.command, ctx);
  if (/^\\Microsoft\\/i.test(t.name ?? '') && !isUnusualLocation(launch.path, ctx.env)) return null;
  const state = t.enabled === false ? ', disabled' : '';
  return {
    category: 'scheduled-task',
    location: `task ${t.name ?? t.source} (${t.source}${state})`,
    command: t.command,
    owner: t.user ?? 'unknown',
    ctx,
    launch,
  };
}

/** Every Startup folder item: a shortcut's target with its arguments, or the file itself. */
export function startupEntry(s: StartupItemInfo, ctx: ResolveContext): Entry {
  const command = s.exec ?? `"${s.path}"`;
  return {
    category: 'startup-folder',
    location: s.path,
    command,
    owner: s.owner,
    ctx,
    launch: resolveLaunch(command, ctx),
  };
}
