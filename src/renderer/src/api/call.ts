/** Calls that either return the channel's response or throw an IpcCallError: the form UI code wants. */
import type { IpcChannel, IpcRequest, IpcResponse } from '../../../shared/workstation/ipc-contract.js';
import { lr } from './transport.js';
import { responseOf } from './ipc-errors.js';

export { IpcCallError, displayMessage } from './ipc-errors.js';

export async function call<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResponse<C>> {
  return responseOf(channel, lr.invoke(channel, payload));
}
