/**
 * Tenant settings (admins): live response on/off, on servers on/off, unsigned scripts (with the
 * service's warning), and the limits. Each change is sent at once and the card shows what the service
 * answered, so what is on screen is what is in force. Non-admins see why they cannot.
 *
 * The risky switches (unsigned scripts on, live response off) first ask for a confirmation that says what
 * the change does. Limits are typed with their units (`2 GiB`, `30 min`); a wrong one is refused beside
 * its field before anything is sent.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { dispatcher } from '../state/dispatcher.js';
import type { IpcRequest, TenantSettingsView } from '../../../shared/workstation/ipc-contract.js';
import { formatLimit, parseLimit, type LimitKind } from '../../../shared/workstation/limit-units.js';
import { useAppStore } from '../state/app-store.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import './tenant-settings.css';
import { describeError } from '../../../shared/errors.js';

type Switch = 'liveResponse' | 'liveResponseServers' | 'unsignedScripts';

const SWITCHES: { key: Switch; label: string; hint: string }[] = [
  { key: 'liveResponse', label: 'Live response', hint: 'Off: no new session opens on any device.' },
  { key: 'liveResponseServers', label: 'Live response on servers', hint: 'Devices tagged "server".' },
  {
    key: 'unsignedScripts',
    label: 'Unsigned scripts',
    hint: 'Allows library scripts without a trusted publisher signature to run.',
  },
];

/** A switch change that needs a confirmation, with what it does, in words. */
interface RiskyChange {
  key: Switch;
  value: boolean;
  title: string;
  consequence: string;
  confirmLabel: string;
}

function riskOf(key: Switch, value: boolean): RiskyChange | undefined {
  if (key === 'unsignedScripts' && value) {
    return {
      key,
      value,
      title: 'Allow unsigned scripts?',
      consequence:
        "Any library script will run on devices, with the agent's privileges, even without a trusted publisher signature: a script changed or uploaded by anyone with library rights runs as is.",
      confirmLabel: 'Allow unsigned scripts',
    };
  }
  if (key === 'liveResponse' && !value) {
    return {
      key,
      value,
      title: 'Turn live response off?',
      consequence:
        'No new live response session opens on any device, for every analyst of the tenant, until it is turned back on (consoles already open stay open until they end).',
      confirmLabel: 'Turn live response off',
    };
  }
  return undefined;
}

/** Labels and units of the limits the service reports (unknown ones are shown by name, as counts). */
const LIMITS: Record<string, { label: string; kind: LimitKind }> = {
  maxSessionsPerTenant: { label: 'Sessions per tenant', kind: 'count' },
  maxSessionsPerUser: { label: 'Sessions per user', kind: 'count' },
  idleTimeoutSec: { label: 'Idle timeout', kind: 'seconds' },
  commandTimeoutSec: { label: 'Command time limit', kind: 'seconds' },
  longCommandTimeoutSec: { label: 'getfile/findfile/run time limit', kind: 'seconds' },
  getfileBytes: { label: 'Largest getfile', kind: 'bytes' },
  logOutputBytes: { label: 'Output kept per command in the log', kind: 'bytes' },
  libraryFileBytes: { label: 'Largest library file', kind: 'bytes' },
};

function limitOf(name: string): { label: string; kind: LimitKind } {
  return LIMITS[name] ?? { label: name, kind: 'count' };
}

const UNIT_HINT: Record<LimitKind, string> = { bytes: 'e.g. 2 GiB, 512 MiB', seconds: 'e.g. 30 min, 90 s', count: '' };

export function TenantSettingsCard() {
  // Reloaded whenever the connection or the signed-in user changes.
  const who = useAppStore((state) =>
    state.workspace?.state === 'ready' ? `${state.workspace.serviceUrl ?? ''}|${state.workspace.user?.name ?? ''}` : '',
  );
  const ready = who !== '';
  const [view, setView] = useState<TenantSettingsView | undefined>();
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [warning, setWarning] = useState<string | undefined>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [confirming, setConfirming] = useState<RiskyChange | undefined>();
  const cancelConfirm = useCallback(() => setConfirming(undefined), []);

  const load = useCallback(async () => {
    setError(undefined);
    try {
      const next = await dispatcher.tenantSettings({});
      setView(next);
      setDrafts({});
      setFieldErrors({});
      if (next.settings) useAppStore.getState().setLiveResponseOff(next.settings.liveResponse === false);
    } catch (e) {
      setError(describeError(e));
    }
  }, []);

  useEffect(() => {
    setView(undefined);
    if (who) void load();
  }, [who, load]);

  async function update(change: IpcRequest<'lr:tenant.update'>): Promise<void> {
    setBusy(true);
    setError(undefined);
    setWarning(undefined);
    try {
      const next = await dispatcher.updateTenantSettings(change);
      setView(next);
      setWarning(next.settings?.warning);
      setDrafts({});
      setFieldErrors({});
      if (next.settings) useAppStore.getState().setLiveResponseOff(next.settings.liveResponse === false);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  function flip(key: Switch, value: boolean): void {
    const risk = riskOf(key, value);
    if (risk) setConfirming(risk);
    else void update({ [key]: value });
  }

  function saveLimits(event: FormEvent): void {
    event.preventDefault();
    const limits: Record<string, number> = {};
    const errors: Record<string, string> = {};
    for (const [name, text] of Object.entries(drafts)) {
      const parsed = parseLimit(text, limitOf(name).kind);
      if (parsed.ok) limits[name] = parsed.value;
      else errors[name] = parsed.error;
    }
    setFieldErrors(errors);
    // Nothing is sent while one field is wrong: the analyst fixes it beside the field.
    if (Object.keys(errors).length > 0 || Object.keys(limits).length === 0) return;
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
                    onChange={(event) => flip(key, event.target.checked)}
                  />
                  <span>{label}</span>
                  <span className="cell-dim">{hint}</span>
                </label>
              );
            })}
          </div>
          <form className="tenant__limits" onSubmit={saveLimits}>
            <p className="card__hint tenant__units">
              Type limits with their units: sizes as 2 GiB or 512 MiB, durations as 30 min or 90 s.
            </p>
            {Object.entries(settings.limits ?? {}).map(([name, value]) => {
              const { label, kind } = limitOf(name);
              const fieldError = fieldErrors[name];
              return (
                <div key={name} className="tenant__limit">
                  <label htmlFor={`tenant-limit-${name}`}>{label}</label>
                  <input
                    id={`tenant-limit-${name}`}
                    className="echo__input mono"
                    data-testid={`tenant-limit-${name}`}
                    aria-invalid={fieldError ? true : undefined}
                    aria-describedby={fieldError ? `tenant-limit-${name}-error` : undefined}
                    title={kind === 'count' ? undefined : `${value} ${kind} (${UNIT_HINT[kind]})`}
                    value={drafts[name] ?? formatLimit(value, kind)}
                    onChange={(event) => {
                      const text = event.target.value;
                      setDrafts((d) => ({ ...d, [name]: text }));
                      setFieldErrors(({ [name]: _fixed, ...rest }) => rest);
                    }}
                  />
                  {fieldError && (
                    <span
                      className="form-error tenant__limit-error"
                      id={`tenant-limit-${name}-error`}
                      data-testid={`tenant-limit-${name}-error`}
                    >
                      {fieldError}
                    </span>
                  )}
                </div>
              );
            })}
            <div className="settings__row">
              <button
                className="button"
                type="submit"
                data-testid="tenant-limits-save"
                disabled={busy || Object.keys(drafts).length === 0}
              >
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
      {confirming && (
        <ConfirmDialog
          title={confirming.title}
          confirmLabel={confirming.confirmLabel}
          testId="tenant-confirm"
          onCancel={cancelConfirm}
          onConfirm={() => {
            const { key, value } = confirming;
            setConfirming(undefined);
            void update({ [key]: value });
          }}
        >
          <p data-testid="tenant-confirm-consequence">{confirming.consequence}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
