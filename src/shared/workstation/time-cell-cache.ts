/**
 * A time-cell formatter that remembers what it printed, by whole second. Formatting an instant
 * (Intl.DateTimeFormat.formatToParts) costs ~10 µs; a listing of 150 000 files has three times per row, most
 * of them within the same few seconds: the console and the full-output file of a findfile spent ~2 s of
 * each process's time in it. The cell shows seconds, so every instant within one second prints the same.
 */
import type { TimeCellFormatter } from '../commands/format.js';

/** Distinct seconds kept; past that the cache starts over (a listing's times cluster, a flood's do not). */
const MAX_ENTRIES = 4_096;

export function cachedTimeCell(format: TimeCellFormatter): TimeCellFormatter {
  const cache = new Map<number, string>();
  return (iso) => {
    const ms = Date.parse(iso);
    if (!Number.isFinite(ms)) return format(iso);
    const second = Math.floor(ms / 1000);
    let text = cache.get(second);
    if (text === undefined) {
      text = format(iso);
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(second, text);
    }
    return text;
  };
}
