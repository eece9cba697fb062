/**
 * Settings: the zone every time in the workstation is shown in. UTC (the default: incident timelines are
 * kept in UTC), this browser's zone, or an IANA zone typed or picked from the list Intl knows. The choice
 * is kept by main and applies at once to every page (times already printed in a terminal stay as printed).
 */
import { useMemo, useState, type FormEvent } from 'react';
import { checkTimeZoneSetting, formatInstant, localTimeZone, resolveTimeZone } from '../../../shared/time-format.js';
import { useAppStore } from '../state/app-store.js';
import { saveTimeZone } from '../state/preferences.js';
import './time-zone.css';
import { describeError } from '../../../shared/errors.js';

type Choice = 'UTC' | 'local' | 'zone';

function choiceOf(setting: string): Choice {
  return setting === 'UTC' || setting === 'local' ? setting : 'zone';
}

/** The zones Intl knows (for the picker); an older engine without supportedValuesOf gets none. */
function knownZones(): string[] {
  const intl = Intl as { supportedValuesOf?: (key: 'timeZone') => string[] };
  return intl.supportedValuesOf?.('timeZone') ?? [];
}

export function TimeZoneCard() {
  const setting = useAppStore((state) => state.timeZone);
  const [typed, setTyped] = useState(choiceOf(setting) === 'zone' ? setting : '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const zones = useMemo(knownZones, []);
  const choice = choiceOf(setting);

  async function choose(zone: string): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      await saveTimeZone(zone);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  function applyTyped(event: FormEvent): void {
    event.preventDefault();
    const zone = typed.trim();
    const problem = zone === '' ? 'type an IANA zone name, such as America/New_York' : checkTimeZoneSetting(zone);
    if (problem) {
      setError(problem);
      return;
    }
    void choose(zone);
  }

  return (
    <section className="card" data-testid="time-zone-card">
      <h2 className="card__title">Time zone</h2>
      <p className="card__hint">Every time the workstation shows is in this zone, with the zone written after it.</p>
      <div className="tz__choices" role="radiogroup" aria-label="Time zone">
        <label className="tz__choice">
          <input
            type="radio"
            name="tz"
            data-testid="tz-utc"
            checked={choice === 'UTC'}
            disabled={busy}
            onChange={() => void choose('UTC')}
          />
          <span>UTC</span>
          <span className="cell-dim">recommended for incident work: one timeline for every device and analyst</span>
        </label>
        <label className="tz__choice">
          <input
            type="radio"
            name="tz"
            data-testid="tz-local"
            checked={choice === 'local'}
            disabled={busy}
            onChange={() => void choose('local')}
          />
          <span>This browser's zone</span>
          <span className="cell-dim mono">{localTimeZone()}</span>
        </label>
        <form className="tz__choice" onSubmit={applyTyped}>
          <input
            type="radio"
            name="tz"
            aria-label="Another zone"
            checked={choice === 'zone'}
            disabled={busy}
            onChange={() => setError(typed.trim() ? undefined : 'type or pick a zone, then Apply')}
          />
          <span>Zone</span>
          <span className="tz__field">
            <input
              className="echo__input mono"
              list="tz-list"
              placeholder="America/New_York"
              aria-label="IANA time zone"
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? 'tz-error' : undefined}
              data-testid="tz-input"
              value={typed}
              onChange={(event) => {
                setTyped(event.target.value);
                setError(undefined);
              }}
            />
            <datalist id="tz-list">
              {zones.map((zone) => (
                <option key={zone} value={zone} />
              ))}
            </datalist>
            <button className="button" type="submit" data-testid="tz-apply" disabled={busy}>
              Apply
            </button>
            {error && (
              <span className="form-error" id="tz-error" data-testid="tz-error">
                {error}
              </span>
            )}
          </span>
        </form>
      </div>
      <p className="card__hint">
        Now: <span data-testid="tz-preview">{formatInstant(Date.now(), resolveTimeZone(setting))}</span>
      </p>
    </section>
  );
}
