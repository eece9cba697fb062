/**
 * The device inventory: search, presence, "Initiate live response session" per device, and "Add a device"
 * (an installer script with a one-time token, AddDeviceDialog.tsx; admins). The table
 * holds still while devices come and go: rows keep their order (by name, not by presence), columns their
 * widths, and every row the same height, so the row under the pointer is the one that was aimed at.
 */
import { useEffect, useMemo, useState } from 'react';
import { call } from '../api/call.js';
import type { InstallerView } from '../../../shared/ipc-contract.js';
import { openConsole } from '../console/sessions.js';
import { AddDeviceDialog } from './AddDeviceDialog.js';
import { useAppStore } from '../state/app-store.js';
import { Instant } from './Instant.js';
import { LiveResponseBanner, noteSessionOutcome } from './LiveResponseBanner.js';
import { ago } from './time.js';
import './devices.css';

export function DevicesPage() {
  const devices = useAppStore((state) => state.devices);
  const devicesError = useAppStore((state) => state.devicesError);
  const workspace = useAppStore((state) => state.workspace);
  const tabs = useAppStore((state) => state.tabs);
  const [query, setQuery] = useState('');
  const [opening, setOpening] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [installers, setInstallers] = useState<InstallerView | undefined>();
  const [adding, setAdding] = useState(false);
  const connected = workspace?.state === 'ready';

  // Whether this user may add devices, and the agent files the service holds ("Add a device").
  useEffect(() => {
    if (!connected) return;
    let stale = false;
    call('lr:installers.view', {}).then(
      (v) => !stale && setInstallers(v),
      (e: unknown) => !stale && setInstallers({ canMake: false, reason: e instanceof Error ? e.message : String(e), files: [] }),
    );
    return () => {
      stale = true;
    };
  }, [connected, adding]);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const list = q ? devices.filter((d) => [d.name, d.hostname, d.os, d.id, d.agentVersion].some((v) => v.toLowerCase().includes(q))) : devices;
    // Never by presence: a device going offline must not move the rows under the analyst's pointer.
    return [...list].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }, [devices, query]);

  async function initiate(device: { id: string; name: string }): Promise<void> {
    setOpening(device.id);
    setError(undefined);
    try {
      await openConsole(device);
      noteSessionOutcome(undefined);
    } catch (e) {
      noteSessionOutcome(e);
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
        <span className="toolbar__spacer" />
        <button
          type="button"
          className="button"
          data-testid="add-device"
          disabled={!installers?.canMake}
          title={installers && !installers.canMake ? installers.reason : 'Make an installer that enrolls a new device'}
          onClick={() => setAdding(true)}
        >
          Add a device
        </button>
      </div>
      {installers && !installers.canMake && installers.reason && (
        <p className="card__hint devices__add-hint" data-testid="add-device-reason">
          Add a device: {installers.reason}
        </p>
      )}
      {adding && <AddDeviceDialog view={installers} onClose={() => setAdding(false)} />}
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
      <LiveResponseBanner testId="devices-live-response-off" />
      {devicesError && <p className="form-error">{devicesError}</p>}
      {error && (
        <p className="form-error" data-testid="device-error">
          {error}
        </p>
      )}
      <div className="table-wrap">
        <table className="table devices__table" data-testid="device-table">
          <colgroup>
            <col className="devices__col-name" />
            <col className="devices__col-os" />
            <col className="devices__col-agent" />
            <col className="devices__col-status" />
            <col className="devices__col-isolation" />
            <col className="devices__col-actions" />
          </colgroup>
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
                    <div className="cell-dim mono devices__line" title={d.id}>
                      {d.id}
                    </div>
                  </td>
                  <td>{d.os}</td>
                  <td className="mono">{d.agentVersion}</td>
                  <td>
                    <span className={`pill ${d.online ? 'pill--ok' : 'pill--off'}`} data-testid="device-presence">
                      {d.online ? 'online' : 'offline'}
                    </span>
                    {/* Always one second line, unbroken: the row keeps its height when the device comes or goes. */}
                    {d.online && d.node ? (
                      // A narrow column must not wrap the node id at its hyphen ("node-" / "c80y…").
                      <div className="cell-dim mono devices__line" title="The service node the agent is connected to (a cluster of nodes)" data-testid="device-node">
                        via {d.node}
                      </div>
                    ) : (
                      <div className="cell-dim devices__line" data-testid="device-last-seen" title={d.lastSeen ? ago(d.lastSeen) : undefined}>
                        {d.online ? 'seen ' : 'last seen '}
                        {d.lastSeen ? <Instant iso={d.lastSeen} short /> : 'never'}
                        {!d.online && d.lastSeen && ` · ${ago(d.lastSeen)}`}
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
