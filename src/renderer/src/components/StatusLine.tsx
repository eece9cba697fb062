import { useEffect } from 'react';
import { describeTimeZoneSetting } from '../../../shared/time-format.js';
import { useAppStore } from '../state/app-store.js';
import { loadPreferences } from '../state/preferences.js';
import './time-zone.css';

export function StatusLine() {
  const { info, connection, connectionError, lastEvent, workspace, timeZone } = useAppStore();

  // Preferences come from main once it answers (the status line is always mounted).
  useEffect(() => {
    if (connection === 'connected') void loadPreferences().catch(() => undefined);
  }, [connection]);

  return (
    // The last event is kept as an attribute for tests, not shown: it means nothing to an analyst.
    <footer className="status" data-testid="status-line" data-last-event={lastEvent?.type}>
      <span className={`status__dot status__dot--${connection}`} aria-hidden="true" />
      <span data-testid="status-connection">
        {connection === 'failed' ? `not connected: ${connectionError ?? ''}` : connection}
      </span>
      {info && (
        <>
          <span className="status__sep">·</span>
          <span>
            mode{' '}
            <strong data-testid="status-mode" data-mode={info.mode}>
              {info.mode}
            </strong>
          </span>
          <span className="status__sep">·</span>
          <span>
            v<span data-testid="status-version">{info.version}</span>
          </span>
          <span className="status__sep">·</span>
          <span data-testid="status-platform">{info.platform}</span>
        </>
      )}
      {workspace && (
        <>
          <span className="status__sep">·</span>
          <span
            data-testid="status-workspace"
            data-state={workspace.state}
            className={
              workspace.state === 'unreachable'
                ? 'status__warn'
                : workspace.state === 'failed'
                  ? 'status__bad'
                  : undefined
            }
            title={workspace.error}
          >
            {workspace.state === 'ready'
              ? `${workspace.mode === 'standalone' ? 'standalone' : (workspace.serviceUrl ?? '')} · ${workspace.user?.name ?? '?'} (${workspace.user?.role ?? '?'})`
              : workspace.state === 'starting'
                ? 'starting the service…'
                : workspace.state === 'unreachable'
                  ? `service unreachable: ${workspace.error ?? workspace.serviceUrl ?? 'no answer'} — retrying; cases and evidence work offline`
                  : `service: ${workspace.error ?? 'failed'}`}
          </span>
        </>
      )}
      <span className="status__spacer" />
      <button
        type="button"
        className="linklike status__zone"
        data-testid="status-time-zone"
        title="The zone every time is shown in (Settings)"
        onClick={() => useAppStore.getState().showSection('settings')}
      >
        times in {describeTimeZoneSetting(timeZone)}
      </button>
    </footer>
  );
}
