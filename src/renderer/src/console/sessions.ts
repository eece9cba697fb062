/** Opening, restoring and ending console sessions: the glue between main, the registry and the store. */
import type { RestoredSessionView, SessionView } from '../../../shared/workstation/ipc-contract.js';
import { call } from '../api/call.js';
import { useAppStore } from '../state/app-store.js';
import { createTerminal, disposeTerminal, getTerminal } from './registry.js';

function attach(session: SessionView, restored?: RestoredSessionView): void {
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
      if (meta.typeahead !== undefined) patch.typeahead = meta.typeahead || undefined;
      if (meta.note !== undefined) patch.note = meta.note || undefined;
      if (meta.searching !== undefined) patch.searching = meta.searching;
      updateTab(tabId, patch);
    },
    (next) => updateTab(tabId, { createdBy: next.createdBy, startedAt: next.startedAt }),
    {
      tabMovesFocus: () => useAppStore.getState().tabMovesFocus,
      toggleTabMovesFocus: () => useAppStore.getState().toggleTabMovesFocus(),
    },
    restored && { replay: restored.replay, trimmed: restored.replayTrimmed, running: restored.running },
  );
  addTab(session);
  if (restored?.running) updateTab(tabId, { running: true });
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

/**
 * After a reload of the page: the sessions main still holds come back as tabs, with what they showed, and
 * the tab that was active is active again.
 */
export async function restoreConsoles(): Promise<void> {
  const sessions = await call('lr:sessions.list', {});
  for (const session of sessions) attach(session, session);
  const saved = savedActiveTab();
  const state = useAppStore.getState();
  if (saved && state.tabs.some((tab) => tab.sessionId === saved)) state.activateTab(saved);
}

const ACTIVE_TAB_KEY = 'lr.activeTab';

function savedActiveTab(): string | undefined {
  try {
    return sessionStorage.getItem(ACTIVE_TAB_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The active tab, remembered for a reload of the page (none yet while the page starts: kept). */
export function rememberActiveTab(tabId: string | undefined): void {
  try {
    if (tabId) sessionStorage.setItem(ACTIVE_TAB_KEY, tabId);
  } catch {
    // storage disabled: a reload activates the last tab
  }
}

/**
 * Disconnect (confirmed): ends the tab's current session on the service. The tab stays, read-only, with
 * its scrollback (the session's "closed" item marks it), until the analyst closes it.
 */
export async function disconnectConsole(tabId: string): Promise<void> {
  await call('lr:sessions.close', { sessionId: getTerminal(tabId)?.sessionId ?? tabId });
}

export function closeTab(tabId: string): void {
  disposeTerminal(tabId);
  useAppStore.getState().removeTab(tabId);
}
