import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PreferencesService } from '../../../src/main/services/preferences.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('PreferencesService', () => {
  it('defaults to UTC and keeps a chosen zone in the app data folder, across restarts', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lr-prefs-'));
    expect(new PreferencesService(dir).get()).toEqual({ timeZone: 'UTC' });
    new PreferencesService(dir).set({ timeZone: 'America/New_York' });
    expect(JSON.parse(readFileSync(path.join(dir, 'preferences.json'), 'utf8'))).toEqual({
      timeZone: 'America/New_York',
    });
    expect(new PreferencesService(dir).get()).toEqual({ timeZone: 'America/New_York' });
    new PreferencesService(dir).set({ timeZone: 'local' });
    expect(new PreferencesService(dir).get().timeZone).toBe('local');
  });

  it('refuses a zone Intl does not know, in one line, and keeps the previous one', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lr-prefs-'));
    const prefs = new PreferencesService(dir);
    prefs.set({ timeZone: 'Europe/Paris' });
    expect(() => prefs.set({ timeZone: 'Mars/Olympus' })).toThrow(/^unknown time zone "Mars\/Olympus"/);
    expect(new PreferencesService(dir).get().timeZone).toBe('Europe/Paris');
  });

  it('starts on the defaults from a broken or tampered file', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lr-prefs-'));
    writeFileSync(path.join(dir, 'preferences.json'), '{not json');
    expect(new PreferencesService(dir).get()).toEqual({ timeZone: 'UTC' });
    writeFileSync(path.join(dir, 'preferences.json'), JSON.stringify({ timeZone: 'Nowhere/Else', other: 1 }));
    expect(new PreferencesService(dir).get()).toEqual({ timeZone: 'UTC' });
  });
});
