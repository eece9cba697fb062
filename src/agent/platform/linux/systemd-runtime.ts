/**
 * What can be told about a running systemd's units without talking D-Bus to it: a unit whose control
 * group holds processes is running (cgroup v2 `cgroup.events: populated 1`, v1 a non-empty
 * `cgroup.procs`); a unit systemd has never started has no `/run/systemd/units/invocation:NAME` link.
 * Anything else (exited one-shots, failed units) stays `unknown` rather than guessed.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface UnitRuntimeState {
  state: string;
  subState: string;
}

export const UNKNOWN_STATE: UnitRuntimeState = { state: 'unknown', subState: 'unknown' };

export interface RuntimeRoots {
  /** /sys/fs/cgroup on a device. */
  cgroupRoot: string;
  /** /run/systemd/units on a device. */
  unitsRoot: string;
}

const CGROUP_DEPTH = 4; // slices nest (a.slice/a-b.slice/x.service); units sit a few levels down

async function populated(dir: string): Promise<boolean> {
  const events = await fsp.readFile(path.join(dir, 'cgroup.events'), 'utf8').catch(() => null);
  if (events !== null) return /^populated 1$/m.test(events);
  const procs = await fsp.readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return procs.trim() !== '';
}

/** Names of the units whose cgroup currently holds processes. */
async function runningUnits(cgroupRoot: string): Promise<Set<string>> {
  const running = new Set<string>();
  // cgroup v1 keeps systemd's tree under the named `systemd` hierarchy.
  const v1 = path.join(cgroupRoot, 'systemd');
  const start = (await fsp.stat(path.join(v1, 'system.slice')).catch(() => null)) ? v1 : cgroupRoot;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const child = path.join(dir, entry.name);
      if (/\.(service|scope|socket|mount|swap)$/.test(entry.name)) {
        if (await populated(child)) running.add(entry.name);
      } else if (entry.name.endsWith('.slice') && depth < CGROUP_DEPTH) {
        await walk(child, depth + 1);
      }
    }
  };
  await walk(start, 0);
  return running;
}

/** A lookup of unit name -> runtime state for the running system. */
export async function systemdRuntime(roots: RuntimeRoots): Promise<(unit: string) => UnitRuntimeState> {
  const running = await runningUnits(roots.cgroupRoot);
  const invoked = new Set(
    (await fsp.readdir(roots.unitsRoot).catch(() => [] as string[]))
      .filter((n) => n.startsWith('invocation:'))
      .map((n) => n.slice('invocation:'.length)),
  );
  return (unit) => {
    if (running.has(unit)) return { state: 'active', subState: 'running' };
    if (!invoked.has(unit)) return { state: 'inactive', subState: 'dead' };
    return UNKNOWN_STATE;
  };
}
