/**
 * Which devices a batch runs on: named devices (every name must exist, or nothing starts), or every enrolled
 * device matching all the criteria given (group, tag, OS, name pattern, online now). Resolved once, when the
 * batch is created: a device enrolled later is not added to it.
 */
import type { BatchSelector } from '../../shared/wire/batch.js';
import { MAX_BATCH_DEVICES } from '../../shared/wire/batch.js';
import type { DeviceRow, Store } from '../store.js';
import type { GroupStore } from '../groups.js';
import { globMatches } from '../groups.js';
import { RestError } from '../rest-io.js';

export interface SelectDeps {
  store: Pick<Store, 'findDevice' | 'listDevices'>;
  groups: Pick<GroupStore, 'get' | 'groupOf' | 'tags'>;
  isOnline(deviceId: string): boolean;
}

function osMatches(wanted: string, d: DeviceRow): boolean {
  const w = wanted.toLowerCase();
  const alias = w === 'windows' ? 'win32' : w;
  return d.platform.toLowerCase() === alias || d.os.toLowerCase().includes(w);
}

export function selectDevices(sel: BatchSelector, deps: SelectDeps): DeviceRow[] {
  let devices: DeviceRow[];
  if (sel.devices) {
    devices = [];
    const seen = new Set<string>();
    for (const ref of sel.devices) {
      const found = deps.store.findDevice(ref);
      if ('error' in found)
        throw new RestError(404, `no device ${JSON.stringify(ref.slice(0, 128))}: ${found.error}; nothing was started`);
      if (!seen.has(found.id)) devices.push(found);
      seen.add(found.id);
    }
  } else devices = deps.store.listDevices();
  if (sel.group !== undefined) {
    if (!deps.groups.get(sel.group) && sel.group !== 'default')
      throw new RestError(404, `no device group ${JSON.stringify(sel.group)}`);
    devices = devices.filter((d) => deps.groups.groupOf(d).group.name === sel.group);
  }
  if (sel.tag !== undefined) devices = devices.filter((d) => deps.groups.tags(d.id).includes(sel.tag as string));
  if (sel.os !== undefined) devices = devices.filter((d) => osMatches(sel.os as string, d));
  if (sel.name !== undefined) devices = devices.filter((d) => globMatches(sel.name as string, d.name));
  if (sel.online !== undefined) devices = devices.filter((d) => deps.isOnline(d.id) === sel.online);
  if (devices.length === 0) throw new RestError(400, 'no device matches the selection; nothing was started');
  if (devices.length > MAX_BATCH_DEVICES)
    throw new RestError(400, `${devices.length} devices match: a batch takes at most ${MAX_BATCH_DEVICES}`);
  return devices;
}
