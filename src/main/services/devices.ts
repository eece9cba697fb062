/**
 * The device inventory: asked from the service, and polled while connected so that presence (online,
 * last seen), isolation and new devices reach the renderer as `devices.changed` events.
 */
import type { Logger } from '../../node/log.js';
import { HttpError } from '../../node/https-json.js';
import type { DeviceGroupsView, DeviceView } from '../../shared/workstation/ipc-contract.js';
import type { EventHub } from './events.js';
import type { Connection, Workspace } from './workspace.js';
import { describeError } from '../../shared/errors.js';

export const DEVICE_POLL_MS = 2_000;

export class DeviceService {
  private timer: NodeJS.Timeout | undefined;
  private last = '';
  private polling = false;

  constructor(
    private readonly workspace: Workspace,
    private readonly events: EventHub,
    private readonly log: Logger,
  ) {
    workspace.onChange((connection) => {
      this.last = '';
      if (connection) this.startPolling();
      else this.stopPolling();
    });
  }

  async list(): Promise<DeviceView[]> {
    const devices = await this.workspace.current().api.devices();
    this.remember(devices);
    return devices;
  }

  /** Device groups with their members; a user the service refuses them to (not an admin) gets its reason. */
  async groups(): Promise<DeviceGroupsView> {
    try {
      const groups = await this.workspace.current().rest.groups();
      return {
        groups: groups.map((g) => ({ name: g.name, devices: g.devices.map((d) => ({ id: d.id, name: d.name })) })),
      };
    } catch (e) {
      if (e instanceof HttpError && e.status === 403) return { groups: [], reason: e.message };
      throw e;
    }
  }

  stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private startPolling(): void {
    this.stopPolling();
    this.timer = setInterval(() => void this.poll(), DEVICE_POLL_MS);
    this.timer.unref();
    void this.poll();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    let connection: Connection;
    try {
      connection = this.workspace.current();
      const devices = await connection.api.devices();
      if (this.remember(devices)) this.events.publish({ type: 'devices.changed', devices });
    } catch (e) {
      this.log.debug('device poll failed', { error: describeError(e) });
    } finally {
      this.polling = false;
    }
  }

  /** True when the list differs from the last one seen. */
  private remember(devices: DeviceView[]): boolean {
    const text = JSON.stringify(devices);
    if (text === this.last) return false;
    this.last = text;
    return true;
  }
}
