/**
 * The analyst's display preferences, kept by main in the app data folder (lr:prefs.*): read once the host
 * answers, applied to the store at once when changed (every time on screen redraws, no reload).
 */
import { call } from '../api/call.js';
import { checkTimeZoneSetting, type TimeZoneSetting } from '../../../shared/time-format.js';
import { useAppStore } from './app-store.js';

export async function loadPreferences(): Promise<void> {
  const prefs = await call('lr:prefs.get', {});
  // A zone this browser does not know (saved from another machine) shows as UTC until changed.
  if (checkTimeZoneSetting(prefs.timeZone) === undefined) useAppStore.getState().setTimeZone(prefs.timeZone);
}

/** Stores the choice, then shows it: throws the one-line reason when it is refused. */
export async function saveTimeZone(zone: TimeZoneSetting): Promise<void> {
  const problem = checkTimeZoneSetting(zone);
  if (problem) throw new Error(problem);
  const saved = await call('lr:prefs.set', { timeZone: zone });
  useAppStore.getState().setTimeZone(saved.timeZone);
}
