/**
 * Resources that must be released, and the stack that releases them in reverse order of acquisition (VS Code's
 * DisposableStore, with async disposal because closing a server or a database connection takes a turn).
 * A program's composition root adds each resource right after creating it, so the teardown order is the exact
 * reverse of the start-up order without a hand-written `close()` listing them.
 */

export interface Disposable {
  dispose(): void | Promise<void>;
}

/** A Disposable from a function (runs it once). */
export function toDisposable(fn: () => void | Promise<void>): Disposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      return fn();
    },
  };
}

/** Releases what was added, last added first, once. */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Adds a resource and returns it. Adding after dispose() releases it at once (nothing leaks). */
  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      void Promise.resolve()
        .then(() => item.dispose())
        .catch(() => undefined);
      return item;
    }
    this.items.push(item);
    return item;
  }

  /** Adds a teardown step. */
  defer(fn: () => void | Promise<void>): void {
    this.add(toDisposable(fn));
  }

  /**
   * Releases everything in reverse order. One failing step does not stop the others; their errors are thrown
   * together afterwards (one error as is, several as an AggregateError).
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    while (this.items.length > 0) {
      const item = this.items.pop()!;
      try {
        await item.dispose();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} resources failed to close`);
  }
}
