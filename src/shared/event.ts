/**
 * Events in one style: `onX(listener) → Disposable`, any number of listeners, called in the order they were added.
 * Adding a listener never replaces another (a replaced callback silently dropped whoever had registered first).
 */
import type { Disposable } from './lifecycle.js';

export type Listener<T> = (value: T) => void;
export type Event<T> = (listener: Listener<T>) => Disposable;

export class Emitter<T> {
  private listeners: Listener<T>[] = [];

  /** Subscribe: returns the Disposable that unsubscribes. */
  readonly event: Event<T> = (listener) => {
    this.listeners.push(listener);
    return {
      dispose: () => {
        this.listeners = this.listeners.filter((l) => l !== listener);
      },
    };
  };

  /**
   * Calls every listener in order with the value. A listener that throws does not stop the others; the first
   * error is rethrown once all have run, so the emitter's caller still learns of it.
   */
  fire(value: T): void {
    let first: { error: unknown } | undefined;
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        first ??= { error };
      }
    }
    if (first) throw first.error;
  }

  get listenerCount(): number {
    return this.listeners.length;
  }

  dispose(): void {
    this.listeners = [];
  }
}
