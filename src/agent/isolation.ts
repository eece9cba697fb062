/**
 * Isolation state, persisted in the agent's data folder (isolation.json) so that the rules are applied
 * again when the agent restarts, and so that the agent's hello tells the service the device is isolated.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomicAsync } from '../node/files.js';
import type { Logger } from '../node/log.js';
import type { PlatformLayer } from './platform/types.js';
import { describeError } from '../shared/errors.js';

const stateSchema = z.object({
  isolated: z.boolean(),
  backend: z.enum(['nftables', 'iptables', 'windows-firewall']).nullable(),
  allow: z.array(z.object({ address: z.string(), port: z.number() })),
  changedAt: z.string(),
  jobId: z.string().nullable(),
});
export type IsolationState = z.infer<typeof stateSchema>;

const file = (dataDir: string) => join(dataDir, 'isolation.json');

export function readIsolation(dataDir: string): IsolationState | null {
  try {
    return stateSchema.parse(JSON.parse(readFileSync(file(dataDir), 'utf8')));
  } catch {
    return null;
  }
}

export function isIsolated(dataDir: string): boolean {
  return readIsolation(dataDir)?.isolated === true;
}

export async function writeIsolation(dataDir: string, state: IsolationState): Promise<void> {
  await writeFileAtomicAsync(file(dataDir), JSON.stringify(state, null, 2));
}

/** At agent start: an isolated device stays isolated (the rules may be gone after a reboot). */
export async function reapplyIsolation(dataDir: string, platform: PlatformLayer, log: Logger): Promise<void> {
  const state = readIsolation(dataDir);
  if (!state?.isolated) return;
  try {
    const backend = await platform.applyIsolation(state.allow);
    await writeIsolation(dataDir, { ...state, backend });
    log.warn('device isolated: isolation rules applied again', {
      backend,
      allow: state.allow.map((a) => `${a.address}:${a.port}`).join(', '),
    });
  } catch (e) {
    log.error('device isolated but the isolation rules could not be applied again', { error: describeError(e) });
  }
}
