/**
 * Where the workstation connects (standalone or a team's service), the time zone, and the tenant settings for admins.
 */
import { useState, type FormEvent } from 'react';
import { dispatcher } from '../state/dispatcher.js';
import { useAppStore } from '../state/app-store.js';
import { TenantSettingsCard } from './TenantSettingsCard.js';
import { TimeZoneCard } from './TimeZoneCard.js';
import { describeError } from '../../../shared/errors.js';

export function SettingsPage() {
  const workspace = useAppStore((state) => state.workspace);
  const [profilePath, setProfilePath] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  async function connect(event: FormEvent): Promise<void> {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await dispatcher.connectProfile({ profilePath: profilePath.trim() });
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  async function standalone(): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      await dispatcher.backToStandalone();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="page page--grid" data-testid="section-settings">
      <section className="card" data-testid="workspace-card">
        <h2 className="card__title">Connection</h2>
        {workspace ? (
          <dl className="facts">
            <dt>Mode</dt>
            <dd data-testid="workspace-mode">
              {workspace.mode === 'standalone'
                ? 'standalone (embedded service, this machine)'
                : 'connected to a service'}
            </dd>
            <dt>State</dt>
            <dd data-testid="workspace-state">{workspace.state}</dd>
            {workspace.serviceUrl && (
              <>
                <dt>Service</dt>
                <dd className="mono">{workspace.serviceUrl}</dd>
              </>
            )}
            {workspace.user && (
              <>
                <dt>Signed in as</dt>
                <dd data-testid="workspace-user">
                  {workspace.user.name} ({workspace.user.role}
                  {workspace.user.libraryManager ? ', library manager' : ''})
                </dd>
              </>
            )}
            {workspace.profilePath && (
              <>
                <dt>Profile</dt>
                <dd className="mono">{workspace.profilePath}</dd>
              </>
            )}
            <dt>App data</dt>
            <dd className="mono">{workspace.dataDir}</dd>
            {workspace.error && (
              <>
                <dt>Error</dt>
                <dd className="form-error">{workspace.error}</dd>
              </>
            )}
          </dl>
        ) : (
          <p className="card__hint">…</p>
        )}
      </section>
      <section className="card">
        <h2 className="card__title">Connect to a service</h2>
        <p className="card__hint">
          For teams: a profile file made by <code>lr-server user add</code> (service address, its CA certificate and
          your API token).
        </p>
        <form className="echo" onSubmit={(event) => void connect(event)}>
          <input
            className="echo__input"
            placeholder="/path/to/analyst.profile.json"
            aria-label="Profile file"
            data-testid="profile-path"
            value={profilePath}
            onChange={(event) => setProfilePath(event.target.value)}
          />
          <button
            className="button"
            type="submit"
            data-testid="profile-connect"
            disabled={busy || profilePath.trim() === ''}
          >
            Connect
          </button>
        </form>
        {/* Offered only when it would change something: not while standalone already. */}
        {workspace?.mode !== 'standalone' && (
          <div className="settings__row">
            <button
              type="button"
              className="button button--ghost"
              data-testid="use-standalone"
              disabled={busy}
              onClick={() => void standalone()}
            >
              Use standalone mode (this machine)
            </button>
          </div>
        )}
        {error && (
          <p className="form-error" data-testid="connect-error">
            {error}
          </p>
        )}
      </section>
      <TimeZoneCard />
      <TenantSettingsCard />
    </div>
  );
}
