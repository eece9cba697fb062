/**
 * Services: systemd `.service` units from their unit files, and SysV scripts in /etc/init.d. The runtime
 * state comes from the running systemd only when we are looking at the live root; otherwise `unknown`.
 */
import type { ServiceInfo } from '../types.js';
import type { Sysroot } from './sysroot.js';
import { type UnitRuntimeState, UNKNOWN_STATE } from './systemd-runtime.js';
import { directive, directives, enabledUnitNames, enablementOf, loadUnits } from './systemd-units.js';

export type RuntimeLookup = (unit: string) => UnitRuntimeState;

const NOT_SCRIPTS = new Set(['README', 'skeleton', 'rc', 'rcS', 'functions', 'halt', 'killall', 'single']);

/** `# Short-Description:` (or `# Description:`) of an LSB init-script header. */
function lsbDescription(text: string): string | null {
  const m = /^#\s*Short-Description:\s*(.+)$/m.exec(text) ?? /^#\s*Description:\s*(.+)$/m.exec(text);
  return m ? (m[1] as string).trim() : null;
}

/** Init scripts started in some runlevel: an `S??NAME` link in /etc/rc?.d. */
async function sysvStarted(root: Sysroot): Promise<Set<string>> {
  const started = new Set<string>();
  for (const rc of await root.listQuiet('/etc')) {
    if (!/^rc[0-6S]\.d$/.test(rc.name)) continue;
    for (const link of await root.listQuiet(rc.path)) {
      const m = /^S\d\d(.+)$/.exec(link.name);
      if (m) started.add(m[1] as string);
    }
  }
  return started;
}

async function sysvServices(root: Sysroot): Promise<ServiceInfo[]> {
  const started = await sysvStarted(root);
  const services: ServiceInfo[] = [];
  for (const entry of await root.listQuiet('/etc/init.d')) {
    if (entry.name.startsWith('.') || NOT_SCRIPTS.has(entry.name) || entry.dirent.isDirectory()) continue;
    const text = await root.readText(entry.path).catch(() => null);
    services.push({
      name: entry.name,
      kind: 'sysv',
      state: 'unknown',
      subState: 'unknown',
      enabled: started.has(entry.name) ? 'enabled' : 'disabled',
      unitPath: entry.path,
      execStart: entry.path,
      description: text === null ? null : lsbDescription(text),
    });
  }
  return services;
}

export async function listServices(root: Sysroot, runtime: RuntimeLookup | null): Promise<ServiceInfo[]> {
  const [units, enabled] = await Promise.all([loadUnits(root, '.service'), enabledUnitNames(root)]);
  const services: ServiceInfo[] = [];
  for (const unit of units.values()) {
    const exec = directives(unit.sections, 'Service', 'ExecStart');
    const state = runtime ? runtime(unit.aliasOf ?? unit.name) : UNKNOWN_STATE;
    services.push({
      name: unit.name,
      kind: 'systemd',
      state: state.state,
      subState: state.subState,
      enabled: enablementOf(unit, enabled),
      unitPath: unit.path,
      execStart: exec.length > 0 ? exec.join(' ; ') : null,
      description: directive(unit.sections, 'Unit', 'Description'),
    });
  }
  services.push(...(await sysvServices(root)));
  return services.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : 1));
}
