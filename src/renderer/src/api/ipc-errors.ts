/**
 * How an IPC call's failure reaches the page: an IpcCallError whose message is what the analyst reads, with no
 * transport wording in front of it. Pure (no transport), so it is unit-tested on its own.
 */
import type { IpcChannel, IpcErrorCode, IpcResponse, IpcResult } from '../../../shared/workstation/ipc-contract.js';
import { describeError } from '../../../shared/errors.js';

export class IpcCallError extends Error {
  constructor(
    readonly code: IpcErrorCode,
    message: string,
    /** The channel that failed: for diagnostics, never shown (the message no longer names it). */
    readonly channel?: string,
  ) {
    super(message);
    this.name = 'IpcCallError';
  }
}

/** Electron's own wording when ipcRenderer.invoke fails outright: `Error invoking remote method 'lr:x': Error: …`. */
const ELECTRON_INVOKE_PREFIX = /^Error invoking remote method '[^']*': (?:[A-Za-z]*Error: )?/;

/**
 * The wrapper in main and the transports prefix every error with the channel (`lr:library.uploadEnd: …`), and
 * Electron adds its own words when the call itself fails. That helps a log reader but means nothing to an
 * analyst: every page shows errors through this one place, which removes both.
 */
export function displayMessage(channel: string, message: string): string {
  const bare = message.replace(ELECTRON_INVOKE_PREFIX, '');
  const prefix = `${channel}: `;
  return bare.startsWith(prefix) ? bare.slice(prefix.length) : bare;
}

/** The response of an invoke, or an IpcCallError (also when the invoke itself rejected). */
export async function responseOf<C extends IpcChannel>(
  channel: C,
  invoked: Promise<IpcResult<C>>,
): Promise<IpcResponse<C>> {
  let outcome: IpcResult<C>;
  try {
    outcome = await invoked;
  } catch (e) {
    // Main answers every channel with a result; a rejection means the call never reached it (or its frame went).
    throw new IpcCallError('disconnected', displayMessage(channel, describeError(e)), channel);
  }
  if (outcome.ok) return outcome.result;
  throw new IpcCallError(outcome.error.code, displayMessage(channel, outcome.error.message), channel);
}
