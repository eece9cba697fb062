/** Command history per device, kept in localStorage (this browser profile / this Electron app). */
const KEY_PREFIX = 'lr.history.';
export const HISTORY_MAX = 1000;

export function loadHistory(deviceId: string): string[] {
  try {
    const raw = localStorage.getItem(KEY_PREFIX + deviceId);
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string').slice(-HISTORY_MAX) : [];
  } catch {
    return [];
  }
}

/** Appends a line (not twice in a row) and saves. */
export function remember(deviceId: string, history: string[], line: string): string[] {
  const next = history[history.length - 1] === line ? history : [...history, line].slice(-HISTORY_MAX);
  try {
    localStorage.setItem(KEY_PREFIX + deviceId, JSON.stringify(next));
  } catch {
    // storage full or disabled: history lives for this tab only
  }
  return next;
}
