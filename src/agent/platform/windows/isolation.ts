/** Windows: network isolation through the firewall (placeholder: not written yet). */
import { NotSupportedError, type IsolationBackend, type IsolationPeer } from '../types.js';

export async function applyIsolation(_allow: readonly IsolationPeer[]): Promise<IsolationBackend> {
  throw new NotSupportedError('isolate');
}

export async function removeIsolation(_backend: IsolationBackend): Promise<void> {
  throw new NotSupportedError('release');
}
