/** Short human times for the UI, and every instant shown in the zone the analyst chose (Settings). */
import { useCallback } from 'react';
import { formatInstant, resolveTimeZone } from '../../../shared/time-format.js';
import { useAppStore } from '../state/app-store.js';

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '?';
  if (ms < 5_000) return 'just now';
  if (ms < 60_000) return `${Math.floor(ms / 1000)} s ago`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ago`;
  return `${Math.floor(ms / 86_400_000)} d ago`;
}

/** The IANA zone times are shown in now (the setting, `local` resolved to the browser's zone). */
export function currentTimeZone(): string {
  return resolveTimeZone(useAppStore.getState().timeZone);
}

/** An instant in the chosen zone, outside React (the terminal's output renderer). */
export function showInstant(value: string | number | null | undefined): string {
  return formatInstant(value, currentTimeZone());
}

/**
 * `(iso) => "2026-12-05 14:03:22 UTC"` in the chosen zone; components that use it redraw when the setting
 * changes (no reload).
 */
export function useInstant(): (value: string | number | null | undefined) => string {
  const setting = useAppStore((state) => state.timeZone);
  return useCallback((value) => formatInstant(value, resolveTimeZone(setting)), [setting]);
}

export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}
