/** Calls that either return the channel's response or throw an IpcCallError: the form UI code wants. */
import type { IpcChannel, IpcErrorCode, IpcRequest, IpcResponse } from '../../../shared/ipc-contract.js';
import { lr } from './transport.js';

export class IpcCallError extends Error {
  constructor(
    readonly code: IpcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IpcCallError';
  }
}

export async function call<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResponse<C>> {
  const outcome = await lr.invoke(channel, payload);
  if (outcome.ok) return outcome.result;
  throw new IpcCallError(outcome.error.code, outcome.error.message);
}
