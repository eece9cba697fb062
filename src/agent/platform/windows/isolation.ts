/**
 * Windows: network isolation through the Windows Filtering Platform (firewall-wfp.ts), with the rule set of
 * firewall-rules.ts. After applying, the rules in force are read back: a firewall that accepted the calls but
 * does not hold the rules is not an isolation, and the command says so instead of reporting the device isolated.
 */
import { readIsolation, writeIsolation } from '../../isolation.js';
import type { IsolationBackend, IsolationPeer } from '../types.js';
import { FirewallUnavailableError, type FirewallBackend } from './firewall-backend.js';
import { isolationRules } from './firewall-rules.js';
import { wfpFirewall } from './firewall-wfp.js';
import { describeError } from '../../../shared/errors.js';

/** Runs `fn`; a firewall missing altogether becomes one line saying what was (not) done. */
async function unlessUnavailable<T>(fn: () => Promise<T>, what: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FirewallUnavailableError)
      throw new Error(`the Windows firewall is not available on this device (${e.reason}): ${what}`, { cause: e });
    throw e;
  }
}

/** apply/remove for a given firewall backend (the real one below; a fake one in unit tests). */
export function windowsIsolation(firewall: FirewallBackend) {
  return {
    async applyIsolation(allow: readonly IsolationPeer[]): Promise<IsolationBackend> {
      const rules = isolationRules(allow);
      await unlessUnavailable(() => firewall.apply(rules), 'the device is NOT isolated');
      const inForce = await firewall.current();
      if (inForce.length !== rules.length || inForce.some((n, i) => n !== rules[i]?.name)) {
        await Promise.resolve()
          .then(() => firewall.remove())
          .catch(() => undefined); // best effort: leave nothing half applied
        throw new Error(
          `the ${firewall.name} did not keep the isolation rules (${inForce.length} of ${rules.length} in force): the device is NOT isolated`,
        );
      }
      return 'windows-firewall';
    },
    async removeIsolation(_backend: IsolationBackend): Promise<void> {
      await unlessUnavailable(() => firewall.remove(), 'nothing was removed');
      const left = await firewall.current();
      if (left.length > 0)
        throw new Error(
          `the ${firewall.name} still holds ${left.length} isolation rules after removing them: the device may still be isolated`,
        );
    },
  };
}

let real: ReturnType<typeof windowsIsolation> | null = null;
const wfp = () => (real ??= windowsIsolation(wfpFirewall()));

export async function applyIsolation(allow: readonly IsolationPeer[]): Promise<IsolationBackend> {
  return wfp().applyIsolation(allow);
}

export async function removeIsolation(backend: IsolationBackend): Promise<void> {
  return wfp().removeIsolation(backend);
}

/**
 * `lr-agent uninstall`: the isolation belongs to the device, so it goes with the agent (otherwise the device
 * stays cut off with nothing left to release it). Our filters are removed whatever the state file says (a
 * deleted data folder must not leave them behind). When the device is isolated and they cannot be removed,
 * this throws, BEFORE the service is touched: the agent keeps running and `release` stays possible.
 */
export async function releaseBeforeUninstall(
  dataDir: string,
  say: (line: string) => void,
  remove: (b: IsolationBackend) => Promise<void> = removeIsolation,
): Promise<void> {
  const state = readIsolation(dataDir);
  try {
    await remove('windows-firewall');
  } catch (e) {
    if (state?.isolated)
      throw new Error(
        `the device is isolated and its isolation could not be removed (${describeError(e).split('\n')[0]}): not uninstalled, the agent keeps running`,
        { cause: e },
      );
    return; // not isolated: no firewall to ask (Wine) or nothing of ours, nothing to say
  }
  if (!state?.isolated) return;
  await writeIsolation(dataDir, {
    isolated: false,
    backend: null,
    allow: [],
    changedAt: new Date().toISOString(),
    jobId: null,
  });
  say('device released from isolation (its firewall filters removed)');
}
