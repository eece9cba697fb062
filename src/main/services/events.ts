/**
 * The push side of the services: services publish events, each transport (an Electron window, a browser
 * shell socket) subscribes and forwards them to its renderer on the `lr:event` channel.
 */
import type { LrEvent, LrEventListener } from '../../shared/workstation/ipc-contract.js';

export interface EventHub {
  publish(event: LrEvent): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: LrEventListener): () => void;
}

export function createEventHub(): EventHub {
  const listeners = new Set<LrEventListener>();
  return {
    publish(event) {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch {
          // One broken transport must not keep the event from the others.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
