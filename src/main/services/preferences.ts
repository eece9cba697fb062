/**
 * The analyst's display preferences, kept in the app data folder (preferences.json) so that they survive
 * a new browser profile or a reinstall of the browser shell's browser: today the time zone every time is
 * shown in (UTC by default, the browser's own zone, or an IANA zone). Unknown keys and bad values in the
 * file are dropped, not fatal: a preference must never keep the workstation from starting.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeSecretJson } from '../../node/files.js';
import type { Logger } from '../../node/log.js';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from '../../shared/time-format.js';
import type { Preferences } from '../../shared/workstation/ipc-contract.js';
import { describeError } from '../../shared/errors.js';

const fileSchema = z.object({ timeZone: z.string().max(64).optional() });

export class PreferencesService {
  private readonly file: string | undefined;
  private cached: Preferences | undefined;

  constructor(
    dataDir: string | undefined,
    private readonly log?: Logger,
  ) {
    this.file = dataDir ? path.join(dataDir, 'preferences.json') : undefined;
  }

  get(): Preferences {
    this.cached ??= this.read();
    return this.cached;
  }

  /** Stores a change (already validated by the contract; the zone is checked again here). */
  set(change: Partial<Preferences>): Preferences {
    if (change.timeZone !== undefined && !acceptableZone(change.timeZone)) {
      throw new Error(`unknown time zone "${change.timeZone}": UTC, local, or an IANA name such as America/New_York`);
    }
    const next: Preferences = { ...this.get(), ...change };
    if (this.file) writeSecretJson(this.file, next);
    this.cached = next;
    return next;
  }

  private read(): Preferences {
    const defaults: Preferences = { timeZone: DEFAULT_TIME_ZONE };
    if (!this.file || !existsSync(this.file)) return defaults;
    try {
      const saved = readJsonFile(this.file, fileSchema, 'workstation preferences');
      return { timeZone: saved.timeZone && acceptableZone(saved.timeZone) ? saved.timeZone : defaults.timeZone };
    } catch (e) {
      this.log?.warn(`${describeError(e)}: using the defaults`);
      return defaults;
    }
  }
}

/** `local` is resolved by the renderer (the browser's zone); anything else must be a zone Intl knows. */
function acceptableZone(zone: string): boolean {
  return zone === 'local' || isValidTimeZone(zone);
}
