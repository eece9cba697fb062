/**
 * One authenticated API socket: JSON text frames `{id, channel, payload}` in, `{id, ok, result|error}` out,
 * plus pushed `{event: 'lr:event', payload}` frames. A broken frame (binary, over 1 MiB, not JSON, wrong
 * shape) is answered with a one-line `bad-frame` error and the socket stays usable; calls go through the
 * validated wrapper like Electron's.
 */
import { WebSocket, type RawData } from 'ws';
import {
  IPC_EVENT_CHANNEL,
  MAX_SOCKET_FRAME_BYTES,
  socketRequestFrameSchema,
  socketRequestIdSchema,
  type HostMode,
  type LrEvent,
  type SocketRequestId,
  type SocketServerFrame,
} from '../../shared/workstation/ipc-contract.js';
import { describeIssues, ipcFailure } from '../ipc/errors.js';
import type { ValidatedDispatcher } from '../ipc/validated.js';
import type { EventHub } from '../services/events.js';

/** What the validated wrapper learns about a browser shell caller. */
export interface SocketSender {
  /** Only upgrades that passed upgrade-auth.ts become sockets, so this is true while the socket is open. */
  readonly socket: WebSocket;
  readonly authenticated: boolean;
}

export function isTrustedSocketSender(sender: SocketSender): boolean {
  return sender.authenticated && sender.socket.readyState === WebSocket.OPEN;
}

export function serveSocket(
  socket: WebSocket,
  deps: { dispatcher: ValidatedDispatcher<SocketSender>; events: EventHub; mode: HostMode },
): void {
  const sender: SocketSender = { socket, authenticated: true };
  const send = (frame: SocketServerFrame): void => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  };
  const push = (event: LrEvent): void => send({ event: IPC_EVENT_CHANNEL, payload: event });

  const unsubscribe = deps.events.subscribe(push);
  socket.on('close', unsubscribe);
  // Errors are followed by 'close'; without a listener ws would rethrow them and take the process down.
  socket.on('error', () => undefined);

  socket.on('message', (data, isBinary) => {
    void answer(data, isBinary).then(send);
  });

  push({ type: 'hello', mode: deps.mode });

  async function answer(data: RawData, isBinary: boolean): Promise<SocketServerFrame> {
    if (isBinary) return badFrame(null, 'binary frames are not accepted');
    const size = byteLength(data);
    if (size > MAX_SOCKET_FRAME_BYTES)
      return badFrame(null, `frame too large (${size} bytes, limit ${MAX_SOCKET_FRAME_BYTES})`);

    let json: unknown;
    try {
      json = JSON.parse(rawDataToString(data));
    } catch {
      return badFrame(null, 'frame is not valid JSON');
    }
    const frame = socketRequestFrameSchema.safeParse(json);
    if (!frame.success) return badFrame(idOf(json), `bad frame: ${describeIssues(frame.error.issues)}`);

    const { id, channel, payload } = frame.data;
    const result = await deps.dispatcher.dispatch(channel, payload, sender);
    return result.ok ? { id, ok: true, result: result.result } : { id, ok: false, error: result.error };
  }
}

function badFrame(id: SocketRequestId | null, message: string): SocketServerFrame {
  return { id, ...ipcFailure('bad-frame', message) };
}

/** The request id of a frame that failed validation, when it had a usable one (so the caller can match). */
function idOf(json: unknown): SocketRequestId | null {
  if (typeof json !== 'object' || json === null || !('id' in json)) return null;
  const id = socketRequestIdSchema.safeParse(json.id);
  return id.success ? id.data : null;
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawDataToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('utf8');
}
