/**
 * LrApi over the browser shell's WebSocket (/ipc). Requests are `{id, channel, payload}` frames, answers
 * come back with the same id; pushed events arrive as `{event: 'lr:event', payload}`. The socket opens on
 * first use and again on the next call after it drops. Every call resolves to an IpcResult, as in Electron.
 */
import {
  IPC_EVENT_CHANNEL,
  lrEventSchema,
  type IpcChannel,
  type IpcError,
  type IpcRequest,
  type IpcResult,
  type LrApi,
  type LrEventListener,
} from '../../../shared/workstation/ipc-contract.js';

const REQUEST_TIMEOUT_MS = 30_000;
const RECONNECT_DELAY_MS = 2_000;

type Settle = (result: IpcResult<IpcChannel>) => void;

export function createWebSocketTransport(socketUrl: string): LrApi {
  const pending = new Map<number, Settle>();
  const listeners = new Set<LrEventListener>();
  let socket: WebSocket | undefined;
  let nextId = 1;

  function connect(): WebSocket {
    if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) return socket;
    const ws = new WebSocket(socketUrl);
    let opened = false;
    ws.addEventListener('open', () => (opened = true));
    ws.addEventListener('message', (message) => onFrame(message.data));
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = undefined;
      if (!opened) {
        // The browser does not tell us why (401/403 or nobody listening), so say what to do about it.
        failAll({
          code: 'disconnected',
          message:
            'cannot reach the workstation service (not signed in, or the shell stopped): run npm start again; its launch link works once',
        });
        return;
      }
      failAll({ code: 'disconnected', message: 'connection to the workstation service lost' });
      // Keep event subscribers fed: come back on our own while someone listens.
      if (listeners.size > 0) setTimeout(() => void connect(), RECONNECT_DELAY_MS);
    });
    socket = ws;
    return ws;
  }

  function onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    if ('event' in frame && frame.event === IPC_EVENT_CHANNEL && 'payload' in frame) {
      const event = lrEventSchema.safeParse(frame.payload);
      if (event.success) for (const listener of [...listeners]) listener(event.data);
      return;
    }
    if (!('id' in frame) || typeof frame.id !== 'number' || !('ok' in frame)) return;
    const settle = pending.get(frame.id);
    if (!settle) return;
    // The shell answers with the validated wrapper's IpcResult shape plus the id.
    settle(frame as unknown as IpcResult<IpcChannel>);
  }

  function failAll(error: IpcError): void {
    for (const settle of [...pending.values()]) settle({ ok: false, error });
  }

  function send(ws: WebSocket, text: string): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
    else ws.addEventListener('open', () => ws.send(text), { once: true });
  }

  return {
    invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResult<C>> {
      const ws = connect();
      const id = nextId++;
      return new Promise<IpcResult<C>>((resolve) => {
        const timer = setTimeout(
          () =>
            settle({
              ok: false,
              error: { code: 'timeout', message: `${channel}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s` },
            }),
          REQUEST_TIMEOUT_MS,
        );
        const settle: Settle = (result) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(result as IpcResult<C>);
        };
        pending.set(id, settle);
        send(ws, JSON.stringify({ id, channel, payload }));
      });
    },

    onEvent(listener) {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
