/**
 * Tenant settings (admins only): live response on/off, on servers on/off (a server is a device tagged
 * `server`), unsigned scripts (kept by the library service), and the limits, which override
 * DATA/config.json at run time without a restart. Stored in the `settings` table.
 */
import { z } from 'zod';
import { limitsSchema, type Limits } from './config.js';
import type { Store } from './store.js';

const LIVE_RESPONSE = 'liveResponse';
const LIVE_RESPONSE_SERVERS = 'liveResponseServers';
const LIMITS = 'limits';

/** Partial limits an admin may set; each must be positive (integers where counts or bytes). */
export const limitOverridesSchema = limitsSchema.partial().strict();
export type LimitOverrides = z.infer<typeof limitOverridesSchema>;

export const settingsUpdateSchema = z
  .object({
    unsignedScripts: z.boolean().optional(),
    liveResponse: z.boolean().optional(),
    liveResponseServers: z.boolean().optional(),
    limits: limitOverridesSchema.optional(),
  })
  .strict();
export type SettingsUpdate = z.infer<typeof settingsUpdateSchema>;

export class TenantSettings {
  private overrides: LimitOverrides;

  constructor(
    private readonly store: Store,
    private readonly base: Limits,
  ) {
    this.overrides = this.readOverrides();
  }

  private readOverrides(): LimitOverrides {
    const raw = this.store.getSetting(LIMITS);
    if (!raw) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return {}; // in a cluster the value may come from another node: a bad one must not stop this one
    }
    const r = limitOverridesSchema.safeParse(parsed);
    return r.success ? r.data : {};
  }

  /**
   * Reads the limit overrides again: in a cluster another node may have changed them (the state
   * replication calls this when the settings table changed); the other settings are read on every use.
   */
  reload(): void {
    this.overrides = this.readOverrides();
  }

  /** The limits in force: config.json, then the admins' overrides. */
  limits(): Limits {
    return { ...this.base, ...this.overrides };
  }

  liveResponse(): boolean {
    return this.store.getSetting(LIVE_RESPONSE) !== 'false';
  }

  liveResponseServers(): boolean {
    return this.store.getSetting(LIVE_RESPONSE_SERVERS) !== 'false';
  }

  view(unsignedScripts: boolean) {
    return {
      liveResponse: this.liveResponse(),
      liveResponseServers: this.liveResponseServers(),
      unsignedScripts,
      limits: this.limits(),
      limitOverrides: this.overrides,
    };
  }

  apply(u: SettingsUpdate): void {
    if (u.liveResponse !== undefined) this.store.setSetting(LIVE_RESPONSE, String(u.liveResponse));
    if (u.liveResponseServers !== undefined)
      this.store.setSetting(LIVE_RESPONSE_SERVERS, String(u.liveResponseServers));
    if (u.limits) {
      this.overrides = { ...this.overrides, ...u.limits };
      this.store.setSetting(LIMITS, JSON.stringify(this.overrides));
    }
  }

  /** The session check: refuses when live response is off, or off for servers and the device is one. */
  refusal(deviceName: string, tags: readonly string[]): { message: string; code: string } | null {
    if (!this.liveResponse())
      return {
        message:
          'connect: live response is turned off for this tenant (an admin can turn it on: lr settings set liveResponse on)',
        code: 'disabled',
      };
    if (tags.includes('server') && !this.liveResponseServers()) {
      return {
        message: `connect: ${deviceName} is a server and live response on servers is turned off for this tenant (lr settings set liveResponseServers on)`,
        code: 'disabled',
      };
    }
    return null;
  }
}
