/** Opening, restoring and ending console sessions: the glue between main, the registry and the store. */
import type { SessionView } from '../../../shared/ipc-contract.js';
import { call } from '../api/call.js';
import { useAppStore } from '../state/app-store.js';
import { createTerminal, disposeTerminal, getTerminal } from './registry.js';

function attach(session: SessionView): void {
  const { addTab, updateTab } = useAppStore.getState();
  // The tab keeps the id of the session it was opened with; `connect` gives it a new session, not a new tab.
  const tabId = session.id;
  createTerminal(
    session,
    (meta) => {
      const patch: Parameters<typeof updateTab>[1] = {};
      if (meta.cwd !== undefined) patch.cwd = meta.cwd;
      if (meta.running !== undefined) patch.running = meta.running;
      if (meta.closed !== undefined) patch.closed = meta.closed || undefined;
      if (meta.online !== undefined) {
        patch.online = meta.online;
        patch.offlineSince = meta.online ? undefined : new Date().toISOString();
      }
      updateTab(tabId, patch);
    },
    (next) => updateTab(tabId, { createdBy: next.createdBy, startedAt: next.startedAt }),
  );
  addTab(session);
}

/** "Initiate live response session": opens (or shows) the device's console tab. */
export async function openConsole(device: { id: string; name: string }): Promise<void> {
  const state = useAppStore.getState();
  const open = state.tabs.find((tab) => tab.deviceId === device.id && !tab.closed);
  if (open) {
    state.activateTab(open.sessionId);
    state.showSection('consoles');
    return;
  }
  const session = await call('lr:sessions.open', { device: device.id });
  attach(session);
  useAppStore.getState().showSection('consoles');
}

/** After a reload of the page: the sessions main still holds come back as tabs. */
export async function restoreConsoles(): Promise<void> {
  const sessions = await call('lr:sessions.list', {});
  for (const session of sessions) attach(session);
}

/** Disconnect (confirmed): ends the tab's current session on the service, then closes the tab. */
export async function disconnectConsole(tabId: string): Promise<void> {
  await call('lr:sessions.close', { sessionId: getTerminal(tabId)?.sessionId ?? tabId });
  closeTab(tabId);
}

export function closeTab(tabId: string): void {
  disposeTerminal(tabId);
  useAppStore.getState().removeTab(tabId);
}
