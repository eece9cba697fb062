/**
 * Windows: network isolation through the Windows Filtering Platform (firewall-wfp.ts), with the rule set of
 * firewall-rules.ts. After applying, the rules in force are read back: a firewall that accepted the calls but
 * does not hold the rules is not an isolation, and the command says so instead of reporting the device isolated.
 */
import type { IsolationBackend, IsolationPeer } from '../types.js';
import { FirewallUnavailableError, type FirewallBackend } from './firewall-backend.js';
import { isolationRules } from './firewall-rules.js';
import { wfpFirewall } from './firewall-wfp.js';

/** Runs `fn`; a firewall missing altogether becomes one line saying what was (not) done. */
async function unlessUnavailable<T>(fn: () => Promise<T>, what: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FirewallUnavailableError) throw new Error(`the Windows firewall is not available on this device (${e.reason}): ${what}`);
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
        await Promise.resolve().then(() => firewall.remove()).catch(() => undefined); // best effort: leave nothing half applied
        throw new Error(`the ${firewall.name} did not keep the isolation rules (${inForce.length} of ${rules.length} in force): the device is NOT isolated`);
      }
      return 'windows-firewall';
    },
    async removeIsolation(_backend: IsolationBackend): Promise<void> {
      await unlessUnavailable(() => firewall.remove(), 'nothing was removed');
      const left = await firewall.current();
      if (left.length > 0) throw new Error(`the ${firewall.name} still holds ${left.length} isolation rules after removing them: the device may still be isolated`);
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
