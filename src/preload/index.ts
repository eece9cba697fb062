/**
 * The preload: exposes exactly one object, `window.lr` (see ./api.d.ts), to the sandboxed renderer.
 * `invoke` only forwards the contract's channels and `onEvent` only listens on `lr:event`; ipcRenderer
 * itself never crosses the context bridge. Main validates everything again (src/main/ipc/validated.ts):
 * this is the first filter, not the only one.
 *
 * Built as a single CommonJS file (out/preload/index.cjs): sandboxed preloads cannot load ES modules or
 * anything from node_modules at run time.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  IPC_EVENT_CHANNEL,
  isIpcChannel,
  lrEventSchema,
  type IpcChannel,
  type IpcRequest,
  type IpcResult,
  type LrApi,
  type LrEvent,
  type LrEventListener,
} from '../shared/workstation/ipc-contract.js';

/**
 * Events pushed before the renderer subscribed (main greets a window as soon as it has loaded, which is
 * usually before React's first effect runs) are kept and handed to the first subscriber.
 */
const EARLY_EVENT_LIMIT = 100;
const earlyEvents: LrEvent[] = [];
const listeners = new Set<LrEventListener>();

ipcRenderer.on(IPC_EVENT_CHANNEL, (_event: IpcRendererEvent, payload: unknown) => {
  const parsed = lrEventSchema.safeParse(payload);
  if (!parsed.success) return;
  if (listeners.size === 0) {
    if (earlyEvents.length < EARLY_EVENT_LIMIT) earlyEvents.push(parsed.data);
    return;
  }
  for (const listener of [...listeners]) listener(parsed.data);
});

const api: LrApi = {
  async invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResult<C>> {
    if (!isIpcChannel(channel)) {
      return { ok: false, error: { code: 'unknown-channel', message: `${String(channel)}: unknown channel` } };
    }
    // Main answers every contract channel with an IpcResult (it never throws across IPC).
    const result: unknown = await ipcRenderer.invoke(channel, payload);
    return result as IpcResult<C>;
  },

  onEvent(listener: LrEventListener): () => void {
    listeners.add(listener);
    for (const event of earlyEvents.splice(0)) listener(event);
    return () => {
      listeners.delete(listener);
    };
  },
};

contextBridge.exposeInMainWorld('lr', api);
