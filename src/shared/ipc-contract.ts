/**
 * The one IPC contract between the workstation's renderer and its main-process services.
 *
 * Every request/response channel is listed in `ipcContract` with a zod schema for its request (checked by
 * the main side before any handler runs, see src/main/ipc/validated.ts) and one for its response (the type
 * the renderer receives). The same contract is carried by two transports that the renderer cannot tell
 * apart: Electron's ipcRenderer.invoke behind the preload's `window.lr`, and the browser shell's WebSocket
 * (frames defined at the bottom of this file).
 *
 * Pure TypeScript + zod: imported by main, preload and renderer, so no Node and no DOM here.
 */
import { z } from 'zod';

// Where the page's CSP forbids eval (the renderer, the preload), zod's JIT would probe `new Function` while
// the schemas below are built, and Chromium reports every probe as a CSP violation. So browser contexts
// use zod's interpreter; Node processes keep the JIT. This must run before any schema is created.
if ('document' in globalThis) z.config({ jitless: true });

/** Every channel name starts with this prefix, so IPC traffic of ours is recognisable at a glance. */
export const IPC_CHANNEL_PREFIX = 'lr:';

/** Requests never carry more text than this in one string field unless a channel says otherwise. */
export const MAX_ECHO_TEXT = 10_000;

// ---------------------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------------------

/** How the workstation UI is hosted: inside Electron, or served to a system browser by the browser shell. */
export const hostModeSchema = z.enum(['electron', 'browser-shell']);
export type HostMode = z.infer<typeof hostModeSchema>;

const noArguments = z.strictObject({});

// ---------------------------------------------------------------------------------------------------------
// Request/response channels
// ---------------------------------------------------------------------------------------------------------

/** The shape every contract entry has. */
export interface ChannelSpec {
  readonly request: z.ZodType;
  readonly response: z.ZodType;
}

export const ipcContract = {
  /** Which build, in which host, on which OS: shown in the status line. */
  'lr:app.info': {
    request: noArguments,
    response: z.object({
      version: z.string(),
      mode: hostModeSchema,
      platform: z.string(),
    }),
  },

  /**
   * Returns its input. Proves the typed round trip through either transport. `handled` counts the echo
   * calls the handler has run since start, which lets tests show that a rejected call never reached it.
   */
  'lr:app.echo': {
    request: z.strictObject({ text: z.string().max(MAX_ECHO_TEXT) }),
    response: z.object({ text: z.string(), handled: z.number().int().nonnegative() }),
  },

  // Later channels slot in here, one domain per group, e.g.:
  //   'lr:devices.list', 'lr:sessions.open', 'lr:sessions.close', 'lr:console.input', 'lr:console.ack',
  //   'lr:log.query', 'lr:library.list', 'lr:cases.list' ...
  // Streams (console output, transfer progress) are pushed through `lr:event` below.
} as const satisfies Record<`${typeof IPC_CHANNEL_PREFIX}${string}`, ChannelSpec>;

export type IpcContract = typeof ipcContract;
export type IpcChannel = keyof IpcContract;
/** What the caller passes (before zod defaults/transforms). */
export type IpcRequest<C extends IpcChannel> = z.input<IpcContract[C]['request']>;
/** What the handler receives (after parsing). */
export type IpcParsedRequest<C extends IpcChannel> = z.output<IpcContract[C]['request']>;
export type IpcResponse<C extends IpcChannel> = z.output<IpcContract[C]['response']>;

export const ipcChannels = Object.keys(ipcContract) as readonly IpcChannel[];

export function isIpcChannel(value: unknown): value is IpcChannel {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ipcContract, value);
}

// ---------------------------------------------------------------------------------------------------------
// Results: every call resolves to one of these, never rejects with a transport-specific error
// ---------------------------------------------------------------------------------------------------------

export type IpcErrorCode =
  | 'unknown-channel' // not in ipcContract
  | 'untrusted-sender' // wrong frame/origin (Electron) or unauthenticated socket (browser shell)
  | 'invalid-payload' // the request schema refused it; the handler did not run
  | 'handler-failed' // the handler threw
  | 'bad-frame' // browser shell: not JSON, too large, or not a {id, channel, payload} object
  | 'disconnected' // the transport went away (or never came up) before the answer arrived
  | 'timeout'; // no answer in time

export interface IpcError {
  readonly code: IpcErrorCode;
  /** One line, prefixed with the channel when there is one: `lr:app.echo: invalid payload: text: ...`. */
  readonly message: string;
}

export type IpcResult<C extends IpcChannel> =
  | { readonly ok: true; readonly result: IpcResponse<C> }
  | { readonly ok: false; readonly error: IpcError };

// ---------------------------------------------------------------------------------------------------------
// Events: main → renderer pushes, all on one channel, discriminated by `type`
// ---------------------------------------------------------------------------------------------------------

export const IPC_EVENT_CHANNEL = 'lr:event';

export const lrEventSchema = z.discriminatedUnion('type', [
  /** Sent once when a renderer connects: says the push path works. */
  z.object({ type: z.literal('hello'), mode: hostModeSchema }),
  // Later: { type: 'console.output', sessionId, data }, { type: 'device.changed', ... }, ...
]);
export type LrEvent = z.infer<typeof lrEventSchema>;
export type LrEventListener = (event: LrEvent) => void;

// ---------------------------------------------------------------------------------------------------------
// The API object the renderer sees (window.lr in Electron, the WebSocket transport in the browser shell)
// ---------------------------------------------------------------------------------------------------------

export interface LrApi {
  invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResult<C>>;
  /** Subscribes to pushed events; returns the unsubscribe function. */
  onEvent(listener: LrEventListener): () => void;
}

// ---------------------------------------------------------------------------------------------------------
// Browser shell wire format (WebSocket text frames, JSON)
// ---------------------------------------------------------------------------------------------------------

/** Larger frames are answered with a `bad-frame` error and otherwise ignored. */
export const MAX_SOCKET_FRAME_BYTES = 1024 * 1024;

export const socketRequestIdSchema = z.union([z.number().int().nonnegative(), z.string().min(1).max(64)]);
export type SocketRequestId = z.infer<typeof socketRequestIdSchema>;

/** Renderer → shell. `payload` is checked later, per channel, by the validated wrapper. */
export const socketRequestFrameSchema = z.object({
  id: socketRequestIdSchema,
  channel: z.string().max(128),
  payload: z.unknown(),
});
export type SocketRequestFrame = z.infer<typeof socketRequestFrameSchema>;

/** Shell → renderer: an answer (id is null when the request was too broken to carry one) or a push. */
export type SocketServerFrame =
  | { readonly id: SocketRequestId | null; readonly ok: true; readonly result: unknown }
  | { readonly id: SocketRequestId | null; readonly ok: false; readonly error: IpcError }
  | { readonly event: typeof IPC_EVENT_CHANNEL; readonly payload: LrEvent };
