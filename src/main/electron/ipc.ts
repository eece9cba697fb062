/**
 * Electron's side of the IPC contract: every contract channel is registered with ipcMain.handle and
 * routed through the validated wrapper, with TrustedSenders as the sender policy; events from the
 * services are pushed to every registered window on `lr:event`.
 */
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { IPC_EVENT_CHANNEL, ipcChannels, type LrEvent } from '../../shared/workstation/ipc-contract.js';
import { TrustedSenders } from '../ipc/trusted-sender.js';
import { createValidatedHandlers } from '../ipc/validated.js';
import type { Services } from '../services/index.js';

export interface ElectronIpc {
  /** Trusts a window's WebContents (until it is destroyed) and sends it the pushed events. */
  attach(contents: WebContents): void;
}

export function registerIpc(services: Services, appOrigin: string): ElectronIpc {
  const trusted = new TrustedSenders(appOrigin);
  const dispatcher = createValidatedHandlers<IpcMainInvokeEvent>(services, {
    isTrusted: (event) => trusted.isTrusted(event),
  });

  for (const channel of ipcChannels) {
    ipcMain.handle(channel, (event, payload: unknown) => dispatcher.dispatch(channel, payload, event));
  }

  const attached = new Set<WebContents>();
  services.events.subscribe((event) => {
    for (const contents of attached) sendEvent(contents, event);
  });

  return {
    attach(contents) {
      trusted.add(contents.id);
      attached.add(contents);
      contents.on('did-finish-load', () => sendEvent(contents, { type: 'hello', mode: 'electron' }));
      contents.once('destroyed', () => {
        trusted.remove(contents.id);
        attached.delete(contents);
      });
    },
  };
}

function sendEvent(contents: WebContents, event: LrEvent): void {
  if (!contents.isDestroyed()) contents.send(IPC_EVENT_CHANNEL, event);
}
