/** The device inventory: search, presence, and "Initiate live response session" per device. */
import { useMemo, useState } from 'react';
import { openConsole } from '../console/sessions.js';
import { useAppStore } from '../state/app-store.js';
import { ago } from './time.js';

export function DevicesPage() {
  const devices = useAppStore((state) => state.devices);
  const devicesError = useAppStore((state) => state.devicesError);
  const workspace = useAppStore((state) => state.workspace);
  const tabs = useAppStore((state) => state.tabs);
  const [query, setQuery] = useState('');
  const [opening, setOpening] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const list = q ? devices.filter((d) => [d.name, d.hostname, d.os, d.id, d.agentVersion].some((v) => v.toLowerCase().includes(q))) : devices;
    return [...list].sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
  }, [devices, query]);

  async function initiate(device: { id: string; name: string }): Promise<void> {
    setOpening(device.id);
    setError(undefined);
    try {
      await openConsole(device);
    } catch (e) {
      setError(`${device.name}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setOpening(undefined);
    }
  }

  return (
    <div className="page" data-testid="section-devices">
      <div className="toolbar">
        <input
          className="input toolbar__search"
          type="search"
          placeholder="Search devices (name, OS, id)…"
          aria-label="Search devices"
          data-testid="device-search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="toolbar__meta" data-testid="device-count">
          {shown.length} of {devices.length} devices · {devices.filter((d) => d.online).length} online
        </span>
      </div>
      {workspace?.state === 'starting' && <p className="card__hint">Starting the embedded service and this machine's agent…</p>}
      {workspace?.state === 'failed' && <p className="form-error">The service is not available: {workspace.error}</p>}
      {workspace?.state === 'unreachable' && (
        <p className="banner banner--warn page__banner" data-testid="devices-unreachable">
          Service unreachable: {workspace.error ?? workspace.serviceUrl ?? 'no answer'} — retrying. Devices and consoles come back when
          it answers; cases and evidence work offline.{' '}
          <button type="button" className="linklike" data-testid="devices-open-cases" onClick={() => useAppStore.getState().showSection('cases')}>
            Open Cases
          </button>
        </p>
      )}
      {devicesError && <p className="form-error">{devicesError}</p>}
      {error && (
        <p className="form-error" data-testid="device-error">
          {error}
        </p>
      )}
      <div className="table-wrap">
        <table className="table" data-testid="device-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>OS</th>
              <th>Agent</th>
              <th>Status</th>
              <th>Isolation</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {shown.map((d) => {
              const tab = tabs.find((t) => t.deviceId === d.id && !t.closed);
              return (
                <tr key={d.id} data-testid={`device-row-${d.name}`} data-device-id={d.id} data-online={d.online}>
                  <td>
                    <div className="cell-strong">{d.name}</div>
                    <div className="cell-dim mono">{d.id}</div>
                  </td>
                  <td>{d.os}</td>
                  <td className="mono">{d.agentVersion}</td>
                  <td>
                    <span className={`pill ${d.online ? 'pill--ok' : 'pill--off'}`} data-testid="device-presence">
                      {d.online ? 'online' : 'offline'}
                    </span>
                    {!d.online && <span className="cell-dim"> last seen {ago(d.lastSeen)}</span>}
                    {d.online && d.node && (
                      // Its own line, unbroken: a narrow column must not wrap the id at its hyphen ("node-" / "c80y…").
                      <div className="cell-dim mono" style={{ whiteSpace: 'nowrap' }} title="The service node the agent is connected to (a cluster of nodes)" data-testid="device-node">
                        via {d.node}
                      </div>
                    )}
                  </td>
                  <td>{d.isolated ? <span className="pill pill--warn">isolated</span> : <span className="cell-dim">not isolated</span>}</td>
                  <td className="cell-actions">
                    <button
                      type="button"
                      className="button button--small"
                      data-testid="initiate-session"
                      disabled={opening === d.id || (!d.online && !tab)}
                      title={d.online ? undefined : 'The device is offline'}
                      onClick={() => void initiate(d)}
                    >
                      {tab ? 'Go to console' : opening === d.id ? 'Opening…' : 'Initiate live response session'}
                    </button>
                  </td>
                </tr>
              );
            })}
            {shown.length === 0 && (
              <tr>
                <td colSpan={6} className="cell-dim">
                  {devices.length === 0 ? 'No devices yet.' : 'No device matches the search.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
