/**
 * Returns what it is given. It exists to prove the typed round trip renderer → transport → validated
 * wrapper → service and back. It counts the calls it handled, so a test can show that a rejected call
 * (bad payload, unknown channel, untrusted sender) never got this far.
 */
import type { IpcResponse } from '../../shared/workstation/ipc-contract.js';

export type EchoReply = IpcResponse<'lr:app.echo'>;

export interface EchoService {
  echo(text: string): EchoReply;
  /** How many echo calls were handled since this service was created. */
  handledCount(): number;
}

export function createEchoService(): EchoService {
  let handled = 0;
  return {
    echo(text) {
      handled += 1;
      return { text, handled };
    },
    handledCount: () => handled,
  };
}
