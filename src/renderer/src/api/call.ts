/** Calls that either return the channel's response or throw an IpcCallError: the form UI code wants. */
import type { IpcChannel, IpcErrorCode, IpcRequest, IpcResponse } from '../../../shared/ipc-contract.js';
import { lr } from './transport.js';

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

/**
 * The wrapper in main and the transports prefix every error with the channel (`lr:library.uploadEnd: …`),
 * which helps a log reader but means nothing to an analyst: every page shows errors through this one place.
 */
export function displayMessage(channel: string, message: string): string {
  const prefix = `${channel}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

export async function call<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResponse<C>> {
  const outcome = await lr.invoke(channel, payload);
  if (outcome.ok) return outcome.result;
  throw new IpcCallError(outcome.error.code, displayMessage(channel, outcome.error.message), channel);
}
