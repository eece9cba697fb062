/**
 * Console tabs: a tab strip, the active tab's header (who, when, live duration, Disconnect) and every
 * tab's terminal, kept mounted and hidden when not active (xterm keeps parsing output in the background).
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { getTerminal } from '../console/registry.js';
import { closeTab, disconnectConsole } from '../console/sessions.js';
import { useAppStore, type ConsoleTab } from '../state/app-store.js';
import { ActiveCaseSwitcher } from './ActiveCaseSwitcher.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { clock, localTime } from './time.js';

export function ConsolesPage({ visible }: { visible: boolean }) {
  const tabs = useAppStore((state) => state.tabs);
  const activeTab = useAppStore((state) => state.activeTab);
  const activateTab = useAppStore((state) => state.activateTab);
  const showSection = useAppStore((state) => state.showSection);
  const active = tabs.find((tab) => tab.sessionId === activeTab);

  if (tabs.length === 0) {
    return (
      <div className="page" data-testid="section-consoles">
        <section className="card card--placeholder">
          <h2 className="card__title">No console open</h2>
          <p className="card__hint">Open one from the device inventory: “Initiate live response session”.</p>
          <button type="button" className="button" onClick={() => showSection('devices')}>
            Show devices
          </button>
        </section>
      </div>
    );
  }

  return (
    <div className="consoles" data-testid="section-consoles">
      <div className="tabs" role="tablist" aria-label="Console sessions">
        {tabs.map((tab) => (
          <button
            key={tab.sessionId}
            type="button"
            role="tab"
            className="tabs__tab"
            aria-selected={tab.sessionId === activeTab}
            data-testid={`console-tab-${tab.deviceName}`}
            data-session-id={tab.sessionId}
            onClick={() => activateTab(tab.sessionId)}
          >
            <span className={`status__dot ${tab.closed ? 'status__dot--failed' : tab.online ? 'status__dot--connected' : ''}`} aria-hidden="true" />
            <span className="tabs__label">{tab.deviceName}</span>
            {tab.running && <span className="tabs__busy" aria-label="running" />}
            {tab.closed && (
              <span
                className="tabs__close"
                role="button"
                aria-label={`Close the tab of ${tab.deviceName}`}
                onClick={(e) => {
                  e.stopPropagation();
                  closeTab(tab.sessionId);
                }}
              >
                ×
              </span>
            )}
          </button>
        ))}
      </div>
      {active && <ConsoleHeader tab={active} />}
      {active && !active.online && !active.closed && (
        <div className="banner banner--warn" data-testid="offline-banner">
          {active.deviceName} went offline{active.offlineSince ? ` at ${localTime(active.offlineSince)}` : ''}: commands fail until it is back; this console resumes then.
        </div>
      )}
      {active?.closed && (
        <div className="banner" data-testid="closed-banner">
          Session ended: {active.closed}
        </div>
      )}
      <div className="terminals">
        {tabs.map((tab) => (
          <TerminalSlot key={tab.sessionId} sessionId={tab.sessionId} active={visible && tab.sessionId === activeTab} />
        ))}
      </div>
    </div>
  );
}

function ConsoleHeader({ tab }: { tab: ConsoleTab }) {
  const [now, setNow] = useState(() => Date.now());
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (tab.closed) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [tab.closed]);
  const cancel = useCallback(() => {
    setConfirming(false);
    setError(undefined);
    getTerminal(tab.sessionId)?.focus();
  }, [tab.sessionId]);

  async function disconnect(): Promise<void> {
    setBusy(true);
    try {
      await disconnectConsole(tab.sessionId);
      setConfirming(false);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="console-header" data-testid="console-header">
      <span>
        <span className="cell-dim">device </span>
        <strong>{tab.deviceName}</strong> <span className="cell-dim">({tab.platform})</span>
      </span>
      <span>
        <span className="cell-dim">created by </span>
        <span data-testid="console-created-by">{tab.createdBy}</span>
      </span>
      <span>
        <span className="cell-dim">started </span>
        {localTime(tab.startedAt)}
      </span>
      <span>
        <span className="cell-dim">duration </span>
        <span className="mono" data-testid="console-duration">
          {clock(now - Date.parse(tab.startedAt))}
        </span>
      </span>
      <ActiveCaseSwitcher />
      <span className="console-header__spacer" />
      {!tab.closed && (
        <button type="button" className="button button--danger button--small" data-testid="console-disconnect" onClick={() => setConfirming(true)}>
          Disconnect
        </button>
      )}
      {confirming && (
        <ConfirmDialog
          title={`Disconnect from ${tab.deviceName}?`}
          confirmLabel="Disconnect"
          busy={busy}
          error={error}
          testId="disconnect-dialog"
          onConfirm={() => void disconnect()}
          onCancel={cancel}
        >
          <p>The live response session ends on the service; commands still running in it are cancelled on the device.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function TerminalSlot({ sessionId, active }: { sessionId: string; active: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const terminal = getTerminal(sessionId);
    const parent = host.current;
    if (!terminal || !parent) return;
    if (terminal.element.parentElement !== parent) parent.appendChild(terminal.element);
  }, [sessionId]);
  useEffect(() => {
    if (!active) return;
    const terminal = getTerminal(sessionId);
    const parent = host.current;
    if (!terminal || !parent) return;
    terminal.fit();
    terminal.focus();
    const observer = new ResizeObserver(() => terminal.fit());
    observer.observe(parent);
    return () => observer.disconnect();
  }, [active, sessionId]);
  return <div ref={host} className="terminals__slot" hidden={!active} data-testid={`terminal-${sessionId}`} data-active={active} />;
}
