/**
 * The Settings page's tenant settings: live response on/off, on servers on/off, unsigned
 * scripts, and the limits. Admins only: the service enforces it on every call (GET/PUT /api/v1/settings);
 * main only answers early, in one line, when the signed-in user is not an admin.
 */
import type { TenantSettingsView } from '../../shared/workstation/ipc-contract.js';
import type { Workspace } from './workspace.js';

export interface TenantSettingsUpdate {
  liveResponse?: boolean | undefined;
  liveResponseServers?: boolean | undefined;
  unsignedScripts?: boolean | undefined;
  limits?: Record<string, number> | undefined;
}

export class TenantSettingsService {
  constructor(private readonly workspace: Workspace) {}

  async get(): Promise<TenantSettingsView> {
    const connection = this.workspace.current();
    if (connection.me.role !== 'admin') {
      return {
        canEdit: false,
        reason: `tenant settings are for admins (you are ${connection.me.name}, ${connection.me.role})`,
      };
    }
    return { settings: await connection.library.settings(), canEdit: true };
  }

  async update(update: TenantSettingsUpdate): Promise<TenantSettingsView> {
    const connection = this.workspace.current();
    if (connection.me.role !== 'admin')
      throw new Error(`refused: tenant settings are for admins (${connection.me.name} is ${connection.me.role})`);
    const clean = Object.fromEntries(
      Object.entries(update).filter(([, value]) => value !== undefined),
    ) as TenantSettingsUpdate;
    if (Object.keys(clean).length === 0) throw new Error('nothing to change');
    return { settings: await connection.library.updateSettings(clean), canEdit: true };
  }
}
