/**
 * Console tabs: a tab strip, the active tab's header (who, when, live duration, Disconnect) and every
 * tab's terminal, kept mounted and hidden when not active (xterm keeps parsing output in the background).
 *
 * Keyboard: activating a tab (click, Enter/Space, Ctrl+PageUp/PageDown, Alt+1..9) always puts the focus in
 * its terminal; the arrows move between tabs in the strip. A closed session stays as a read-only tab with
 * its scrollback until the analyst closes it.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { flushSync } from 'react-dom';
import '../console/console-keys.css';
import { SHORTCUTS_HELP, tabShortcut, targetTab } from '../console/keys.js';
import { getTerminal } from '../console/registry.js';
import { SearchBar } from '../console/SearchBar.js';
import { closeTab, disconnectConsole, rememberActiveTab } from '../console/sessions.js';
import { useAppStore, type ConsoleTab } from '../state/app-store.js';
import { ActiveCaseSwitcher } from './ActiveCaseSwitcher.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { Instant } from './Instant.js';
import { LiveResponseBanner } from './LiveResponseBanner.js';
import { clock } from './time.js';
import { describeError } from '../../../shared/errors.js';

export function ConsolesPage({ visible }: { visible: boolean }) {
  const tabs = useAppStore((state) => state.tabs);
  const activeTab = useAppStore((state) => state.activeTab);
  const showSection = useAppStore((state) => state.showSection);
  const active = tabs.find((tab) => tab.sessionId === activeTab);
  const tabStrip = useRef<HTMLDivElement>(null);

  useEffect(() => rememberActiveTab(activeTab), [activeTab]);

  // Ctrl+PageUp/PageDown and Alt+1..9, wherever the focus is on this page (before xterm sees the key).
  useEffect(() => {
    if (!visible) return;
    const onKey = (event: globalThis.KeyboardEvent): void => {
      const action = tabShortcut(event);
      // A dialog open over the page keeps the keys.
      if (!action || document.querySelector('[aria-modal="true"]')) return;
      const { tabs: all, activeTab: current } = useAppStore.getState();
      const index = targetTab(
        action,
        all.findIndex((tab) => tab.sessionId === current),
        all.length,
      );
      event.preventDefault();
      event.stopPropagation();
      const target = index === undefined ? undefined : all[index];
      if (target) focusTab(target.sessionId);
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [visible]);

  // The arrows, Home and End move the focus along the strip; Enter or Space activates (a button's click).
  const onStripKey = (event: KeyboardEvent<HTMLDivElement>): void => {
    const buttons = [...(tabStrip.current?.querySelectorAll<HTMLButtonElement>('[role="tab"]') ?? [])];
    const at = buttons.findIndex((button) => button === document.activeElement);
    if (at < 0) return;
    let next: number;
    if (event.key === 'ArrowRight') next = (at + 1) % buttons.length;
    else if (event.key === 'ArrowLeft') next = (at - 1 + buttons.length) % buttons.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = buttons.length - 1;
    else return;
    event.preventDefault();
    buttons[next]?.focus();
  };

  if (tabs.length === 0) {
    return (
      <div className="page" data-testid="section-consoles">
        <LiveResponseBanner testId="consoles-live-response-off" />
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
      <div className="tabs" role="tablist" aria-label="Console sessions" ref={tabStrip} onKeyDown={onStripKey}>
        {tabs.map((tab, index) => (
          <button
            key={tab.sessionId}
            type="button"
            role="tab"
            className="tabs__tab"
            aria-selected={tab.sessionId === activeTab}
            tabIndex={tab.sessionId === activeTab ? 0 : -1}
            title={`${tab.deviceName}${index < 9 ? ` (Alt+${index + 1})` : ''}`}
            data-testid={`console-tab-${tab.deviceName}`}
            data-session-id={tab.sessionId}
            onClick={() => focusTab(tab.sessionId)}
          >
            <span
              className={`status__dot ${tab.closed ? 'status__dot--failed' : tab.online ? 'status__dot--connected' : ''}`}
              aria-hidden="true"
            />
            <span className="tabs__label">{tab.deviceName}</span>
            {tab.running && <span className="tabs__busy" aria-label="running" />}
            {tab.closed && (
              <span
                className="tabs__close"
                role="button"
                aria-label={`Close the tab of ${tab.deviceName}`}
                onClick={(event) => {
                  event.stopPropagation();
                  closeTab(tab.sessionId);
                }}
              >
                ×
              </span>
            )}
          </button>
        ))}
      </div>
      <LiveResponseBanner testId="consoles-live-response-off" />
      {active && <ConsoleHeader tab={active} />}
      {active && !active.online && !active.closed && (
        <div className="banner banner--warn" data-testid="offline-banner">
          {active.deviceName} went offline
          {active.offlineSince ? (
            <>
              {' '}
              at <Instant iso={active.offlineSince} />
            </>
          ) : (
            ''
          )}
          : commands fail until it is back; Ctrl+C ends a running one here, and nothing runs again by itself.
        </div>
      )}
      {active?.closed && (
        <div className="banner banner--closed" data-testid="closed-banner" role="status">
          <span className="banner__text">
            Session closed: {active.closed}. Its output stays here, read-only: nothing typed is sent. Type{' '}
            <code>connect</code> for a new session on {active.deviceName}, or close the tab.
          </span>
          <button
            type="button"
            className="button button--small"
            data-testid="console-close-tab"
            onClick={() => closeTab(active.sessionId)}
          >
            Close tab
          </button>
        </div>
      )}
      <div className="terminals">
        {active?.searching && visible && <SearchBar key={active.sessionId} tabId={active.sessionId} />}
        {tabs.map((tab) => (
          <TerminalSlot key={tab.sessionId} sessionId={tab.sessionId} active={visible && tab.sessionId === activeTab} />
        ))}
      </div>
      {active && <ConsoleStatus tab={active} />}
    </div>
  );
}

/**
 * Activates a tab and puts the focus in its terminal. Rendered at once (flushSync): the terminal must be
 * shown to take the focus, and keys typed right after the click must not go to the previous one.
 */
function focusTab(tabId: string): void {
  flushSync(() => useAppStore.getState().activateTab(tabId));
  getTerminal(tabId)?.focus();
}

/** The line under the terminal: what is typed ahead, short notes, "Tab moves focus" and the shortcuts. */
function ConsoleStatus({ tab }: { tab: ConsoleTab }) {
  const tabMovesFocus = useAppStore((state) => state.tabMovesFocus);
  const toggle = useAppStore((state) => state.toggleTabMovesFocus);
  const updateTab = useAppStore((state) => state.updateTab);
  useEffect(() => {
    if (!tab.note) return;
    const timer = setTimeout(() => updateTab(tab.sessionId, { note: undefined }), 4000);
    return () => clearTimeout(timer);
  }, [tab.note, tab.sessionId, updateTab]);
  return (
    <div className="console-status" data-testid="console-status">
      {tab.typeahead && (
        <span
          className="console-status__typeahead"
          data-testid="console-typeahead"
          title="Typed while the command runs: typed at the prompt when it is back (Ctrl+C discards it)"
        >
          typed ahead: {tab.typeahead}
        </span>
      )}
      {tab.note && (
        <span data-testid="console-note" role="status">
          {tab.note}
        </span>
      )}
      <span className="console-status__spacer" />
      <span className="cell-dim console-status__hint" title={SHORTCUTS_HELP} data-testid="console-shortcuts">
        Keys: Ctrl+F search · Ctrl+Shift+C/V copy/paste · Alt+1..9 tabs
      </span>
      <button
        type="button"
        className="button button--ghost button--small console-status__toggle"
        aria-pressed={tabMovesFocus}
        data-testid="console-tab-moves-focus"
        title={`Ctrl+M: while on, Tab leaves the terminal instead of completing. ${SHORTCUTS_HELP}`}
        onClick={toggle}
      >
        Tab moves focus: {tabMovesFocus ? 'on' : 'off'} · Ctrl+M
      </button>
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
      // The tab stays, read-only: the focus goes back to its scrollback.
      getTerminal(tab.sessionId)?.focus();
    } catch (e) {
      setError(describeError(e));
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
        <Instant iso={tab.startedAt} />
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
        <button
          type="button"
          className="button button--danger button--small"
          data-testid="console-disconnect"
          onClick={() => setConfirming(true)}
        >
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
          <p>
            The live response session ends on the service; commands still running in it are cancelled on the device. The
            tab stays, read-only, with its output.
          </p>
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
  return (
    <div
      ref={host}
      className="terminals__slot"
      hidden={!active}
      data-testid={`terminal-${sessionId}`}
      data-active={active}
    />
  );
}
