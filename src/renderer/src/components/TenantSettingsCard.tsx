/**
 * Tenant settings (admins): live response on/off, on servers on/off, unsigned scripts (with the
 * service's warning), and the limits. Each change is sent at once and the card shows what the service
 * answered, so what is on screen is what is in force. Non-admins see why they cannot.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { call } from '../api/call.js';
import type { TenantSettingsView } from '../../../shared/ipc-contract.js';
import { useAppStore } from '../state/app-store.js';
import './tenant-settings.css';

type Switch = 'liveResponse' | 'liveResponseServers' | 'unsignedScripts';

const SWITCHES: { key: Switch; label: string; hint: string }[] = [
  { key: 'liveResponse', label: 'Live response', hint: 'Off: no new session opens on any device.' },
  { key: 'liveResponseServers', label: 'Live response on servers', hint: 'Devices tagged "server".' },
  { key: 'unsignedScripts', label: 'Unsigned scripts', hint: 'Allows library scripts without a trusted publisher signature to run.' },
];

/** Labels and units of the limits the service reports (unknown ones are shown by name). */
const LIMIT_LABELS: Record<string, string> = {
  maxSessionsPerTenant: 'Sessions per tenant',
  maxSessionsPerUser: 'Sessions per user',
  idleTimeoutSec: 'Idle timeout (s)',
  commandTimeoutSec: 'Command time limit (s)',
  longCommandTimeoutSec: 'getfile/findfile/run time limit (s)',
  getfileBytes: 'Largest getfile (bytes)',
  logOutputBytes: 'Output kept per command in the log (bytes)',
  libraryFileBytes: 'Largest library file (bytes)',
};

export function TenantSettingsCard() {
  // Reloaded whenever the connection or the signed-in user changes.
  const who = useAppStore((state) => (state.workspace?.state === 'ready' ? `${state.workspace.serviceUrl ?? ''}|${state.workspace.user?.name ?? ''}` : ''));
  const ready = who !== '';
  const [view, setView] = useState<TenantSettingsView | undefined>();
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [warning, setWarning] = useState<string | undefined>();

  const load = useCallback(async () => {
    setError(undefined);
    try {
      const next = await call('lr:tenant.get', {});
      setView(next);
      setDrafts({});
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  useEffect(() => {
    setView(undefined);
    if (who) void load();
  }, [who, load]);

  async function update(change: Parameters<typeof call<'lr:tenant.update'>>[1]): Promise<void> {
    setBusy(true);
    setError(undefined);
    setWarning(undefined);
    try {
      const next = await call('lr:tenant.update', change);
      setView(next);
      setWarning(next.settings?.warning);
      setDrafts({});
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  function saveLimits(event: FormEvent): void {
    event.preventDefault();
    const limits: Record<string, number> = {};
    for (const [name, text] of Object.entries(drafts)) {
      const value = Number(text.trim());
      if (!Number.isFinite(value) || value <= 0) {
        setError(`${LIMIT_LABELS[name] ?? name} must be a positive number`);
        return;
      }
      limits[name] = value;
    }
    if (Object.keys(limits).length === 0) return;
    void update({ limits });
  }

  const settings = view?.settings;
  return (
    <section className="card" data-testid="tenant-settings-card">
      <h2 className="card__title">Tenant settings</h2>
      {!ready && <p className="card__hint">Available when connected to a service.</p>}
      {ready && view && !view.canEdit && (
        <p className="card__hint" data-testid="tenant-settings-reason">
          {view.reason}
        </p>
      )}
      {ready && settings && (
        <>
          <div className="tenant__switches">
            {SWITCHES.map(({ key, label, hint }) => {
              const on = settings[key] !== false;
              return (
                <label key={key} className="tenant__switch" title={hint}>
                  <input
                    type="checkbox"
                    data-testid={`tenant-${key}`}
                    checked={on}
                    disabled={busy}
                    onChange={(e) => void update({ [key]: e.target.checked })}
                  />
                  <span>{label}</span>
                  <span className="cell-dim">{hint}</span>
                </label>
              );
            })}
          </div>
          <form className="tenant__limits" onSubmit={saveLimits}>
            {Object.entries(settings.limits ?? {}).map(([name, value]) => (
              <label key={name} className="tenant__limit">
                <span>{LIMIT_LABELS[name] ?? name}</span>
                <input
                  className="echo__input mono"
                  inputMode="numeric"
                  data-testid={`tenant-limit-${name}`}
                  value={drafts[name] ?? String(value)}
                  onChange={(e) => setDrafts((d) => ({ ...d, [name]: e.target.value }))}
                />
              </label>
            ))}
            <div className="settings__row">
              <button className="button" type="submit" data-testid="tenant-limits-save" disabled={busy || Object.keys(drafts).length === 0}>
                Save limits
              </button>
              <button className="button button--ghost" type="button" disabled={busy} onClick={() => void load()}>
                Reload
              </button>
            </div>
          </form>
        </>
      )}
      {warning && (
        <p className="form-warning" data-testid="tenant-settings-warning">
          {warning}
        </p>
      )}
      {error && (
        <p className="form-error" data-testid="tenant-settings-error">
          {error}
        </p>
      )}
    </section>
  );
}
