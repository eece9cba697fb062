/**
 * The module-level registry of console terminals, by tab id (the id of the session a tab was opened with)
 * and by the session each one talks to now (a newer one after `connect`). Console output events go
 * straight from the transport to the terminal here, never through React state or the zustand store.
 *
 * Test hook: when the page sets `window.__lrTestHooks = true` before the app starts (Playwright's
 * addInitScript), `window.__lrTerminals` lets tests read a terminal's buffer and counters.
 */
import type { ConsoleItem, ReplayEntry, SessionView } from '../../../shared/workstation/ipc-contract.js';
import { lr } from '../api/transport.js';
import { ConsoleTerminal, type ConsoleKeyOptions, type TerminalMeta } from './console-terminal.js';

const terminals = new Map<string, ConsoleTerminal>();
const bySession = new Map<string, ConsoleTerminal>();

export function createTerminal(
  session: SessionView,
  onMeta: (meta: TerminalMeta) => void,
  onSession: (next: SessionView) => void = () => undefined,
  keyOptions?: ConsoleKeyOptions,
  restored?: { replay: readonly ReplayEntry[]; trimmed: boolean; running: boolean },
): ConsoleTerminal {
  const existing = terminals.get(session.id) ?? bySession.get(session.id);
  if (existing) return existing;
  const terminal = new ConsoleTerminal(
    session,
    onMeta,
    (previousId, next) => {
      if (bySession.get(previousId) === terminal) bySession.delete(previousId);
      bySession.set(next.id, terminal);
      onSession(next);
    },
    keyOptions,
    restored,
  );
  terminals.set(session.id, terminal);
  bySession.set(session.id, terminal);
  return terminal;
}

/** The terminal of a tab, by its tab id. */
export function getTerminal(tabId: string): ConsoleTerminal | undefined {
  return terminals.get(tabId);
}

export function disposeTerminal(tabId: string): void {
  const terminal = terminals.get(tabId);
  if (!terminal) return;
  terminal.dispose();
  terminals.delete(tabId);
  if (bySession.get(terminal.sessionId) === terminal) bySession.delete(terminal.sessionId);
}

/** Routes one batch of pushed output; output of a session without a terminal is acknowledged and dropped. */
export function routeOutput(sessionId: string, items: readonly ConsoleItem[], weight: number): void {
  const terminal = bySession.get(sessionId);
  if (terminal) {
    terminal.receive(items, weight);
    return;
  }
  if (weight > 0) void lr.invoke('lr:sessions.ack', { sessionId, chars: weight });
}

declare global {
  interface Window {
    __lrTestHooks?: boolean;
    __lrTerminals?: {
      ids(): string[];
      /** By tab id. */
      text(sessionId: string): string;
      stats(
        sessionId: string,
      ): { lines: number; records: number; chars: number; running: boolean; cols: number } | undefined;
      /** Selects the first occurrence of a text with xterm's select API; the selected text. */
      selectFirst(sessionId: string, text: string): boolean;
      selection(sessionId: string): string;
    };
  }
}

if (window.__lrTestHooks === true) {
  window.__lrTerminals = {
    ids: () => [...terminals.keys()],
    text: (sessionId) => terminals.get(sessionId)?.text() ?? '',
    stats: (sessionId) => {
      const t = terminals.get(sessionId);
      return t
        ? {
            lines: t.linesWritten,
            records: t.recordsWritten,
            chars: t.charsWritten,
            running: t.isRunning,
            cols: t.term.cols,
          }
        : undefined;
    },
    selectFirst: (sessionId, text) => terminals.get(sessionId)?.selectFirst(text) ?? false,
    selection: (sessionId) => terminals.get(sessionId)?.selection ?? '',
  };
}
