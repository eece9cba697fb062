import { useAppStore } from '../state/app-store.js';

export function StatusLine() {
  const { info, connection, connectionError, lastEvent, workspace } = useAppStore();
  return (
    <footer className="status" data-testid="status-line">
      <span className={`status__dot status__dot--${connection}`} aria-hidden="true" />
      <span data-testid="status-connection">{connection === 'failed' ? `not connected: ${connectionError ?? ''}` : connection}</span>
      {info && (
        <>
          <span className="status__sep">·</span>
          <span>
            mode <strong data-testid="status-mode" data-mode={info.mode}>{info.mode}</strong>
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
            className={workspace.state === 'unreachable' ? 'status__warn' : workspace.state === 'failed' ? 'status__bad' : undefined}
            title={workspace.error}
          >
            {workspace.state === 'ready'
              ? `${workspace.mode === 'standalone' ? 'standalone' : workspace.serviceUrl ?? ''} · ${workspace.user?.name ?? '?'} (${workspace.user?.role ?? '?'})`
              : workspace.state === 'starting'
                ? 'starting the service…'
                : workspace.state === 'unreachable'
                  ? `service unreachable: ${workspace.error ?? workspace.serviceUrl ?? 'no answer'} — retrying; cases and evidence work offline`
                  : `service: ${workspace.error ?? 'failed'}`}
          </span>
        </>
      )}
      <span className="status__spacer" />
      <span data-testid="status-last-event">{lastEvent ? `event: ${lastEvent.type}` : 'no events yet'}</span>
    </footer>
  );
}
