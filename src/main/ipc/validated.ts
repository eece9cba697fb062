/**
 * The one place every IPC call passes through, whatever the transport (Electron's ipcMain or the browser
 * shell's WebSocket). For each call, in this order:
 *   (a) the channel is in the contract (src/shared/workstation/ipc-contract.ts),
 *   (b) the sender is trusted (the transport says how: see SenderPolicy),
 *   (c) the payload parses with the channel's request schema,
 * and only then the handler runs; (d) what the handler returns is checked against the channel's response
 * schema before it leaves main, so the renderer never receives a shape the contract does not describe.
 * Every failure comes back as `{ ok: false, error: { code, message } }` with a one-line message; nothing
 * throws across the transport.
 *
 * The response check runs in every build, not only in development: the largest answers (a 1000-row log
 * page, a 20 000-row batch table) take a few milliseconds to check, well under what building and
 * serialising them costs. The handler's own value is what is sent (the check does not strip or reshape it).
 */
import {
  ipcContract,
  ipcChannels,
  isIpcChannel,
  type IpcChannel,
  type IpcParsedRequest,
  type IpcResponse,
  type IpcResult,
} from '../../shared/workstation/ipc-contract.js';
import type { Services } from '../services/index.js';
import { describeIssues, describeThrown, ipcFailure, oneLine } from './errors.js';
import { handlerTable } from './routes.js';

/** What a handler learns about its call besides the request. */
export interface CallContext {
  /** Aborted when the renderer cancels the call (`lr:calls.cancel` with the request's `callId`). */
  readonly signal: AbortSignal;
}

export type IpcHandler<C extends IpcChannel> = (
  request: IpcParsedRequest<C>,
  context: CallContext,
) => IpcResponse<C> | Promise<IpcResponse<C>>;

/** Answered by the dispatcher itself: it holds the calls that may be cancelled. */
const CANCEL_CHANNEL = 'lr:calls.cancel';
export type ServiceChannel = Exclude<IpcChannel, typeof CANCEL_CHANNEL>;

/** One handler per contract channel answered by the services: the compiler refuses a table that misses one. */
export type IpcHandlerTable = { readonly [C in ServiceChannel]: IpcHandler<C> };

/** How a transport decides whether the party behind a call may use the API at all. */
export interface SenderPolicy<S> {
  isTrusted(sender: S): boolean;
}

export interface ValidatedDispatcher<S> {
  /** Registers the handler of one channel (once). */
  handle<C extends IpcChannel>(channel: C, handler: IpcHandler<C>): void;
  /** Checks channel, sender and payload, then runs the handler. Never rejects. */
  dispatch(channel: unknown, payload: unknown, sender: S): Promise<IpcResult<IpcChannel>>;
}

// Handlers are stored type-erased; `dispatch` only ever passes a value that the same channel's request
// schema produced, which is exactly the handler's parameter type.
type ErasedHandler = (request: unknown, context: CallContext) => unknown;

export function createValidatedDispatcher<S>(policy: SenderPolicy<S>): ValidatedDispatcher<S> {
  const handlers = new Map<IpcChannel, ErasedHandler>();
  /** Calls running with a `callId`, so that `lr:calls.cancel` can abort them. */
  const cancellable = new Map<string, AbortController>();
  handlers.set(CANCEL_CHANNEL, (request) => {
    const controller = cancellable.get((request as { callId: string }).callId);
    controller?.abort(new Error('cancelled'));
    return { cancelled: controller !== undefined };
  });

  return {
    handle(channel, handler) {
      if (!isIpcChannel(channel)) throw new Error(`${String(channel)}: not in the IPC contract`);
      if (handlers.has(channel)) throw new Error(`${channel}: handler already registered`);
      handlers.set(channel, handler as unknown as ErasedHandler);
    },

    async dispatch(channel, payload, sender) {
      if (!isIpcChannel(channel)) {
        return ipcFailure('unknown-channel', `${describeChannel(channel)}: unknown channel`);
      }
      if (!isTrustedSafely(policy, sender)) {
        return ipcFailure('untrusted-sender', `${channel}: sender not trusted`);
      }
      const parsed = ipcContract[channel].request.safeParse(payload);
      if (!parsed.success) {
        return ipcFailure('invalid-payload', `${channel}: invalid payload: ${describeIssues(parsed.error.issues)}`);
      }
      const handler = handlers.get(channel);
      if (!handler) {
        return ipcFailure('unknown-channel', `${channel}: no handler registered`);
      }
      // The cancel call names the call it cancels: it is not itself one that can be cancelled.
      const callId = channel === CANCEL_CHANNEL ? undefined : callIdOf(parsed.data);
      if (callId !== undefined && cancellable.has(callId)) {
        return ipcFailure('invalid-payload', `${channel}: invalid payload: callId: already in use by a running call`);
      }
      const controller = new AbortController();
      if (callId !== undefined) cancellable.set(callId, controller);
      let result: unknown;
      try {
        result = await handler(parsed.data, { signal: controller.signal });
      } catch (thrown) {
        return ipcFailure('handler-failed', `${channel}: ${describeThrown(thrown)}`);
      } finally {
        if (callId !== undefined) cancellable.delete(callId);
      }
      const checked = ipcContract[channel].response.safeParse(result);
      if (!checked.success) {
        // A bug in main, not the caller's fault: say so where main's output is read, too.
        const failure = ipcFailure(
          'invalid-response',
          `${channel}: invalid response: ${describeIssues(checked.error.issues)}`,
        );
        console.error(failure.error.message);
        return failure;
      }
      return { ok: true, result: result as IpcResponse<IpcChannel> };
    },
  };
}

/** The dispatcher with every contract channel wired to the services. */
export function createValidatedHandlers<S>(services: Services, policy: SenderPolicy<S>): ValidatedDispatcher<S> {
  const dispatcher = createValidatedDispatcher(policy);
  const table = handlerTable(services);
  for (const channel of ipcChannels) if (channel !== CANCEL_CHANNEL) registerFromTable(dispatcher, table, channel);
  return dispatcher;
}

function callIdOf(request: unknown): string | undefined {
  const callId = typeof request === 'object' && request !== null ? (request as { callId?: unknown }).callId : undefined;
  return typeof callId === 'string' ? callId : undefined;
}

function registerFromTable<S, C extends ServiceChannel>(
  dispatcher: ValidatedDispatcher<S>,
  table: IpcHandlerTable,
  channel: C,
): void {
  dispatcher.handle(channel, table[channel]);
}

function isTrustedSafely<S>(policy: SenderPolicy<S>, sender: S): boolean {
  try {
    return policy.isTrusted(sender) === true;
  } catch {
    // e.g. Electron throws when a frame was disposed meanwhile: not trusted.
    return false;
  }
}

function describeChannel(channel: unknown): string {
  return typeof channel === 'string' ? oneLine(channel, 80) : `(${typeof channel} channel)`;
}
