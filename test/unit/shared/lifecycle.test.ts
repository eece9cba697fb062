import { describe, expect, it } from 'vitest';
import { DisposableStore, toDisposable } from '../../../src/shared/lifecycle.js';
import { Emitter } from '../../../src/shared/event.js';

describe('DisposableStore', () => {
  it('releases in reverse order, once, and keeps going past a failure', async () => {
    const order: string[] = [];
    const store = new DisposableStore();
    store.defer(() => void order.push('db'));
    store.add(
      toDisposable(async () => {
        await new Promise((r) => setTimeout(r, 5));
        order.push('server');
      }),
    );
    store.defer(() => {
      order.push('broken');
      throw new Error('boom');
    });
    store.defer(() => void order.push('sockets'));
    await expect(store.dispose()).rejects.toThrow('boom');
    expect(order).toEqual(['sockets', 'broken', 'server', 'db']);
    await store.dispose();
    expect(order).toHaveLength(4);
    expect(store.isDisposed).toBe(true);
  });

  it('gathers several failures into one AggregateError', async () => {
    const store = new DisposableStore();
    store.defer(() => {
      throw new Error('a');
    });
    store.defer(() => {
      throw new Error('b');
    });
    const error = await store.dispose().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual(['b', 'a']);
  });

  it('releases at once what is added after dispose', async () => {
    const store = new DisposableStore();
    await store.dispose();
    let released = false;
    store.defer(() => {
      released = true;
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(released).toBe(true);
  });
});

describe('Emitter', () => {
  it('adds listeners, never replaces them, and removes one on dispose', () => {
    const emitter = new Emitter<number>();
    const seen: string[] = [];
    const first = emitter.event((n) => seen.push(`a${n}`));
    emitter.event((n) => seen.push(`b${n}`));
    emitter.fire(1);
    first.dispose();
    emitter.fire(2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
    expect(emitter.listenerCount).toBe(1);
  });

  it('runs every listener even when one throws, then rethrows the first error', () => {
    const emitter = new Emitter<void>();
    let ran = false;
    emitter.event(() => {
      throw new Error('first');
    });
    emitter.event(() => {
      ran = true;
    });
    expect(() => emitter.fire()).toThrow('first');
    expect(ran).toBe(true);
  });
});
