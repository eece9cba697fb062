/**
 * What isolation needs from a firewall, as a small interface: the real one is firewall-wfp.ts (the Windows
 * Filtering Platform); unit tests of the command path use a fake one, named as such.
 */
import type { FirewallRule } from './firewall-rules.js';

export interface FirewallBackend {
  /** In words, for messages ("Windows Filtering Platform"). */
  readonly name: string;
  /** Puts exactly these rules in force, replacing ours (all or nothing). */
  apply(rules: readonly FirewallRule[]): Promise<void>;
  /** Removes all our rules (none left is not an error). */
  remove(): Promise<void>;
  /** The names of our rules in force, in order (empty when none). */
  current(): Promise<string[]>;
}

/** The firewall cannot be used on this device at all (service missing or stopped): nothing was changed. */
export class FirewallUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'FirewallUnavailableError';
  }
}
