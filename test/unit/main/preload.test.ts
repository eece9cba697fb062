/**
 * The preload against a fake `electron`: it exposes exactly `window.lr`, forwards only contract channels,
 * and hands events pushed before the first subscription to that subscriber.
 */
import { beforeAll, describe, expect, it, vi, type Mock } from 'vitest';
import type { LrApi } from '../../../src/shared/workstation/ipc-contract.js';

const fake = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  invoke: undefined as unknown as Mock,
  eventListeners: [] as ((event: unknown, payload: unknown) => void)[],
}));

vi.mock('electron', async () => {
  const { vi: mocks } = await import('vitest');
  fake.invoke = mocks.fn(async (channel: string) => ({ ok: true, result: { channel } }));
  return {
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => fake.exposed.set(key, value) },
    ipcRenderer: {
      invoke: fake.invoke,
      on: (_channel: string, listener: (event: unknown, payload: unknown) => void) =>
        fake.eventListeners.push(listener),
      removeListener: () => undefined,
    },
  };
});

let lr: LrApi;

beforeAll(async () => {
  await import('../../../src/preload/index.js');
  lr = fake.exposed.get('lr') as LrApi;
});

const push = (payload: unknown): void => {
  for (const listener of fake.eventListeners) listener({}, payload);
};

describe('preload', () => {
  it('exposes one object, window.lr, with invoke and onEvent only', () => {
    expect([...fake.exposed.keys()]).toEqual(['lr']);
    expect(Object.keys(lr).sort()).toEqual(['invoke', 'onEvent']);
  });

  it('forwards contract channels to ipcRenderer.invoke', async () => {
    expect(await lr.invoke('lr:app.echo', { text: 'x' })).toEqual({ ok: true, result: { channel: 'lr:app.echo' } });
    expect(fake.invoke).toHaveBeenCalledWith('lr:app.echo', { text: 'x' });
  });

  it('refuses other channels without sending anything', async () => {
    fake.invoke.mockClear();
    const unknownChannel = 'lr:shell.exec' as Parameters<LrApi['invoke']>[0];
    expect(await lr.invoke(unknownChannel, {} as never)).toEqual({
      ok: false,
      error: { code: 'unknown-channel', message: 'lr:shell.exec: unknown channel' },
    });
    expect(fake.invoke).not.toHaveBeenCalled();
  });

  it('keeps events that arrive before the first subscriber, drops malformed ones, then delivers live', () => {
    push({ type: 'hello', mode: 'electron' });
    push({ type: 'rm -rf' });
    const received: unknown[] = [];
    const unsubscribe = lr.onEvent((event) => received.push(event));
    expect(received).toEqual([{ type: 'hello', mode: 'electron' }]);
    push({ type: 'hello', mode: 'browser-shell' });
    expect(received).toHaveLength(2);
    unsubscribe();
    push({ type: 'hello', mode: 'electron' });
    expect(received).toHaveLength(2);
  });
});
