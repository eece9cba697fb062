/**
 * Tenant limits typed with their units: sizes (`2 GiB`, `512 MiB`, `10 MB`, `1048576`), durations
 * (`30 min`, `1 h 30 min`, `90 s`, `900`) and counts (`10`). Parsing answers a whole number in the
 * limit's base unit (bytes, seconds) or a one-line reason; formatting gives back the shortest exact text,
 * which parses to the same number. Pure TypeScript: the Settings page and its tests use it.
 */

export type LimitKind = 'bytes' | 'seconds' | 'count';

export type ParsedLimit = { ok: true; value: number } | { ok: false; error: string };

/** Binary (IEC) and decimal (SI) sizes; a bare number is bytes. */
const BYTE_UNITS: Record<string, number> = {
  b: 1,
  byte: 1,
  bytes: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};

/** A bare number is seconds. */
const SECOND_UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86_400,
  day: 86_400,
  days: 86_400,
};

const EXAMPLES: Record<LimitKind, string> = {
  bytes: 'a size such as 2 GiB, 512 MiB or 1048576 (bytes)',
  seconds: 'a duration such as 30 min, 1 h 30 min or 90 s',
  count: 'a whole number such as 10',
};

/** `1 h 30 min`, `2GiB`: one or more number-and-unit pairs (the last unit may be left out). */
const PART = /(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)/gy;

export function parseLimit(text: string, kind: LimitKind): ParsedLimit {
  const input = text.trim().toLowerCase();
  const fail = (why: string): ParsedLimit => ({ ok: false, error: `${why}: expected ${EXAMPLES[kind]}` });
  if (input === '') return fail('empty');
  if (input.startsWith('-')) return fail('must be positive');
  const units = kind === 'bytes' ? BYTE_UNITS : kind === 'seconds' ? SECOND_UNITS : undefined;
  let total = 0;
  let at = 0;
  let parts = 0;
  while (at < input.length) {
    PART.lastIndex = at;
    const match = PART.exec(input);
    if (!match) return fail(`"${text.trim().slice(0, 40)}" is not understood`);
    const [whole, number = '', unit = ''] = match;
    let factor = 1;
    if (unit !== '') {
      const known = units?.[unit];
      if (known === undefined) return fail(units ? `unknown unit "${unit.slice(0, 12)}"` : 'no unit here');
      factor = known;
    }
    total += Number(number) * factor;
    parts += 1;
    at += whole.length;
    while (input[at] === ' ' || input[at] === ',') at += 1;
  }
  if (parts > 1 && kind !== 'seconds') return fail(`"${text.trim().slice(0, 40)}" is not understood`);
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) return fail('too large');
  if (total <= 0) return fail('must be more than 0');
  if (!Number.isInteger(total)) {
    return fail(
      kind === 'bytes'
        ? 'not a whole number of bytes'
        : kind === 'seconds'
          ? 'not a whole number of seconds'
          : 'not a whole number',
    );
  }
  return { ok: true, value: total };
}

/** The shortest exact text: `2 GiB`, `1.5 KiB`, `1000 B`; `1 h 30 min`, `45 s`; `10`. */
export function formatLimit(value: number, kind: LimitKind): string {
  if (!Number.isFinite(value)) return String(value);
  if (kind === 'count') return String(value);
  if (kind === 'bytes') {
    for (const [unit, factor] of [
      ['TiB', 1024 ** 4],
      ['GiB', 1024 ** 3],
      ['MiB', 1024 ** 2],
      ['KiB', 1024],
    ] as const) {
      const scaled = value / factor;
      // Exact with at most two decimals (1.5 GiB, 0.25 excluded: below 1 the next unit reads better).
      if (scaled >= 1 && Number.isInteger(scaled * 100) && Math.round(scaled * 100) * factor === value * 100)
        return `${scaled} ${unit}`;
    }
    return `${value} B`;
  }
  const parts: string[] = [];
  let rest = Math.round(value);
  for (const [unit, factor] of [
    ['d', 86_400],
    ['h', 3600],
    ['min', 60],
  ] as const) {
    if (rest >= factor) {
      parts.push(`${Math.floor(rest / factor)} ${unit}`);
      rest %= factor;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest} s`);
  return parts.join(' ');
}
