/**
 * One way to show an instant, everywhere the workstation and the CLI show one: `2026-12-05 14:03:22 UTC`,
 * or in another zone `2026-12-05 09:03:22 EST (UTC-5)`. Every time shown carries its zone, so a time read
 * off a screenshot or pasted into a report is never ambiguous. Pure TypeScript (Intl only).
 *
 * The analyst's choice (a `TimeZoneSetting`) is UTC (the default: incident timelines are kept in UTC),
 * the browser's own zone ("local"), or an IANA zone name such as `America/New_York`.
 */

export type TimeZoneSetting = 'UTC' | 'local' | (string & {});

export const DEFAULT_TIME_ZONE: TimeZoneSetting = 'UTC';

/** Longest IANA zone name accepted (the longest real one is 32 characters). */
const MAX_ZONE_NAME = 64;

/** Whether Intl knows `zone` (an IANA name such as `Europe/Paris`, or `UTC`). */
export function isValidTimeZone(zone: string): boolean {
  return formatterFor(zone) !== undefined;
}

/** The zone this machine's clock is set to (the browser's, in the renderer). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The IANA zone a setting means: `local` → this machine's zone; an unknown name → UTC. */
export function resolveTimeZone(setting: TimeZoneSetting | undefined): string {
  if (setting === undefined || setting === 'UTC') return 'UTC';
  if (setting === 'local') return localTimeZone();
  return isValidTimeZone(setting) ? setting : 'UTC';
}

/** Checks what an analyst typed: undefined when fine, else a one-line reason. */
export function checkTimeZoneSetting(setting: string): string | undefined {
  if (setting === 'UTC' || setting === 'local') return undefined;
  if (isValidTimeZone(setting)) return undefined;
  return `"${setting.slice(0, MAX_ZONE_NAME)}" is not a time zone this browser knows (an IANA name such as America/New_York, or UTC)`;
}

const UTC_ZONES = new Set([
  'UTC',
  'Etc/UTC',
  'Etc/UCT',
  'Etc/Universal',
  'Etc/Zulu',
  'UCT',
  'Universal',
  'Zulu',
  'Etc/GMT',
  'GMT',
]);

/** Formatters are costly to build and a table may hold 100 000 times: one per zone. */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The formatter of a zone; undefined when Intl does not know the zone. */
function formatterFor(zone: string): Intl.DateTimeFormat | undefined {
  if (zone === '' || zone.length > MAX_ZONE_NAME) return undefined;
  let formatter = formatters.get(zone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
        timeZoneName: 'short',
      });
    } catch {
      return undefined;
    }
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** `UTC-5`, `UTC+5:30`, `UTC` for an offset in minutes east of UTC. */
export function formatUtcOffset(minutes: number): string {
  if (minutes === 0) return 'UTC';
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  const hours = Math.floor(abs / 60);
  const rest = abs % 60;
  return `UTC${sign}${hours}${rest ? `:${String(rest).padStart(2, '0')}` : ''}`;
}

function toMillis(value: string | number | Date): number {
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  return Date.parse(value);
}

/**
 * `2026-12-05 14:03:22 UTC`; in another zone `2026-12-05 09:03:22 EST (UTC-5)` (the zone's abbreviation
 * when it has one, and always the offset, which says the same to anyone in any locale). Something that is
 * not a time is returned as text, unchanged; nothing → ''.
 */
export function formatInstant(value: string | number | Date | null | undefined, zone = 'UTC'): string {
  if (value === null || value === undefined || value === '') return '';
  const ms = toMillis(value);
  if (!Number.isFinite(ms)) return typeof value === 'string' ? value : '';
  const known = formatterFor(zone);
  const tz = known ? zone : 'UTC';
  const formatter = known ?? (formatterFor('UTC') as Intl.DateTimeFormat);
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(ms)) parts[part.type] = part.value;
  const clock = `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
  if (UTC_ZONES.has(tz)) return `${clock} UTC`;
  const offset = formatUtcOffset(offsetMinutes(ms, parts));
  const name = parts.timeZoneName ?? '';
  // Zones without an English abbreviation come back as "GMT+1": the offset alone says it.
  return /^(GMT|UTC)([+-]|$)/.test(name) || name === '' ? `${clock} ${offset}` : `${clock} ${name} (${offset})`;
}

/** Minutes east of UTC at that instant, from the wall clock the formatter produced. */
function offsetMinutes(ms: number, parts: Record<string, string>): number {
  const wall = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const floored = Math.floor(ms / 1000) * 1000;
  return Math.round((wall - floored) / 60_000);
}

/**
 * Compact, for lists, still with its zone: `14:03:22 UTC` on the same day (in that zone) as `now`, else
 * `12-04 18:00 PST`. The full form (formatInstant) belongs in the title or the detail view.
 */
export function formatInstantShort(
  value: string | number | Date | null | undefined,
  zone = 'UTC',
  now: number = Date.now(),
): string {
  const full = formatInstant(value, zone);
  const match = /^(\d{4}-(\d{2}-\d{2})) (\d{2}:\d{2})(:\d{2}) (\S+)/.exec(full);
  if (!match) return full;
  const [, date, monthDay, hm, seconds, zoneName] = match;
  const today = formatInstant(now, zone).slice(0, 10);
  return date === today ? `${hm}${seconds} ${zoneName}` : `${monthDay} ${hm} ${zoneName}`;
}

/**
 * The instant a wall-clock time means in `zone` (what a `datetime-local` field holds:
 * `2026-12-05T09:03` or `…:22`), as ISO in UTC; undefined when it is not such a time. A wall time that a
 * daylight-saving change skips or repeats gets the offset in force just before the change.
 */
export function wallTimeToIso(text: string, zone = 'UTC'): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return undefined;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  if (!Number.isFinite(wall)) return undefined;
  const offsetAt = (ms: number): number => {
    const parts: Record<string, string> = {};
    for (const part of (formatterFor(zone) ?? (formatterFor('UTC') as Intl.DateTimeFormat)).formatToParts(ms))
      parts[part.type] = part.value;
    return offsetMinutes(ms, parts) * 60_000;
  };
  // The offset depends on the instant sought: once from the wall time read as UTC, then again from the guess.
  const first = wall - offsetAt(wall);
  return new Date(wall - offsetAt(first)).toISOString();
}

/** What a setting shows as, for the Settings page: `UTC`, `local (America/New_York)`, `Europe/Paris`. */
export function describeTimeZoneSetting(setting: TimeZoneSetting): string {
  if (setting === 'local') return `local (${localTimeZone()})`;
  return setting;
}

/**
 * An ISO 8601 date-time with its zone (`2026-12-05T14:03:22.123Z`, `…+02:00`): records from the service
 * and the agent carry these. One without a zone says nothing about which instant it is: left as text.
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;

export function isIsoInstant(text: string): boolean {
  return ISO_INSTANT.test(text) && Number.isFinite(Date.parse(text));
}
