import { describe, expect, it } from 'vitest';
import {
  checkTimeZoneSetting,
  formatInstant,
  formatInstantShort,
  formatUtcOffset,
  isIsoInstant,
  isValidTimeZone,
  resolveTimeZone,
  wallTimeToIso,
} from '../../../src/shared/time-format.js';

const WINTER = '2026-12-05T14:03:22.123Z';
const SUMMER = '2026-07-01T14:03:22Z';

describe('formatInstant', () => {
  it('shows UTC with its zone, from an ISO string, a number or a Date', () => {
    expect(formatInstant(WINTER)).toBe('2026-12-05 14:03:22 UTC');
    expect(formatInstant(Date.parse(WINTER), 'UTC')).toBe('2026-12-05 14:03:22 UTC');
    expect(formatInstant(new Date(WINTER), 'Etc/UTC')).toBe('2026-12-05 14:03:22 UTC');
    // An offset in the text is honoured: the same instant.
    expect(formatInstant('2026-12-05T16:03:22+02:00', 'UTC')).toBe('2026-12-05 14:03:22 UTC');
  });

  it('shows another zone with its abbreviation and offset, following daylight saving', () => {
    expect(formatInstant(WINTER, 'America/New_York')).toBe('2026-12-05 09:03:22 EST (UTC-5)');
    expect(formatInstant(SUMMER, 'America/New_York')).toBe('2026-07-01 10:03:22 EDT (UTC-4)');
    // No English abbreviation: the offset alone, never a bare clock.
    expect(formatInstant(WINTER, 'Asia/Kolkata')).toBe('2026-12-05 19:33:22 UTC+5:30');
    expect(formatInstant(WINTER, 'Asia/Tokyo')).toBe('2026-12-05 23:03:22 UTC+9');
  });

  it('crosses midnight into the right date', () => {
    expect(formatInstant('2026-12-05T02:00:00Z', 'America/Los_Angeles')).toBe('2026-12-04 18:00:00 PST (UTC-8)');
  });

  it('leaves what is not a time as it is, and an unknown zone falls back to UTC', () => {
    expect(formatInstant(null)).toBe('');
    expect(formatInstant('')).toBe('');
    expect(formatInstant('not a time')).toBe('not a time');
    expect(formatInstant(WINTER, 'Mars/Olympus')).toBe('2026-12-05 14:03:22 UTC');
  });
});

describe('formatInstantShort', () => {
  it('keeps the zone in the compact list form', () => {
    const now = Date.parse('2026-12-05T20:00:00Z');
    expect(formatInstantShort(WINTER, 'UTC', now)).toBe('14:03:22 UTC');
    expect(formatInstantShort('2026-12-01T14:03:22Z', 'UTC', now)).toBe('12-01 14:03 UTC');
    expect(formatInstantShort(WINTER, 'America/New_York', now)).toBe('09:03:22 EST');
    // 02:00 UTC on the 5th is still the 4th in Los Angeles, while "now" is the 5th there.
    expect(formatInstantShort('2026-12-05T02:00:00Z', 'America/Los_Angeles', now)).toBe('12-04 18:00 PST');
    // Kolkata is already on the 6th at "now": the date shows.
    expect(formatInstantShort(WINTER, 'Asia/Kolkata', now)).toBe('12-05 19:33 UTC+5:30');
    expect(formatInstantShort('junk', 'UTC', now)).toBe('junk');
  });
});

describe('wallTimeToIso', () => {
  it('reads what a datetime-local field holds as a wall time in the chosen zone', () => {
    expect(wallTimeToIso('2026-12-05T14:03:22', 'UTC')).toBe('2026-12-05T14:03:22.000Z');
    expect(wallTimeToIso('2026-12-05T09:03', 'America/New_York')).toBe('2026-12-05T14:03:00.000Z');
    expect(wallTimeToIso('2026-07-01T10:03:22', 'America/New_York')).toBe('2026-07-01T14:03:22.000Z');
    expect(wallTimeToIso('2026-12-05T19:33:22', 'Asia/Kolkata')).toBe('2026-12-05T14:03:22.000Z');
    // Round trip with the display.
    expect(formatInstant(wallTimeToIso('2026-03-08T01:30', 'America/New_York'), 'America/New_York')).toBe(
      '2026-03-08 01:30:00 EST (UTC-5)',
    );
    expect(wallTimeToIso('', 'UTC')).toBeUndefined();
    expect(wallTimeToIso('yesterday', 'UTC')).toBeUndefined();
  });
});

describe('time zone settings', () => {
  it('validates zones with Intl', () => {
    expect(isValidTimeZone('America/New_York')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
    expect(isValidTimeZone('x'.repeat(200))).toBe(false);
    expect(checkTimeZoneSetting('local')).toBeUndefined();
    expect(checkTimeZoneSetting('Europe/Paris')).toBeUndefined();
    expect(checkTimeZoneSetting('Europe/Pariss')).toMatch(/not a time zone this browser knows/);
  });

  it('resolves local to this machine and an unknown name to UTC', () => {
    expect(resolveTimeZone(undefined)).toBe('UTC');
    expect(resolveTimeZone('UTC')).toBe('UTC');
    expect(resolveTimeZone('local')).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(resolveTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(resolveTimeZone('Nowhere/Else')).toBe('UTC');
  });

  it('formats offsets', () => {
    expect(formatUtcOffset(0)).toBe('UTC');
    expect(formatUtcOffset(-300)).toBe('UTC-5');
    expect(formatUtcOffset(330)).toBe('UTC+5:30');
    expect(formatUtcOffset(-570)).toBe('UTC-9:30');
  });

  it('recognises ISO instants only with a zone', () => {
    expect(isIsoInstant(WINTER)).toBe(true);
    expect(isIsoInstant('2026-12-05T14:03:22+01:00')).toBe(true);
    expect(isIsoInstant('2026-12-05T14:03:22')).toBe(false);
    expect(isIsoInstant('2026-12-05')).toBe(false);
    expect(isIsoInstant('2026-13-45T99:03:22Z')).toBe(false);
  });
});
