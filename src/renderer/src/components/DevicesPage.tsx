/**
 * The device inventory: search, presence, "Initiate live response session" per device, and "Add a device"
 * (an installer script with a one-time token, AddDeviceDialog.tsx; admins), and "Run on selected": devices
 * ticked in the table (or every device the search shows) get one command line as a batch (RunBatchDialog.tsx),
 * which the Batch page then shows. The table
 * holds still while devices come and go: rows keep their order (by name, not by presence), columns their
 * widths, and every row the same height, so the row under the pointer is the one that was aimed at.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { dispatcher } from '../state/dispatcher.js';
import type { DeviceGroupsView, InstallerView } from '../../../shared/workstation/ipc-contract.js';
import { openConsole } from '../console/sessions.js';
import { AddDeviceDialog } from './AddDeviceDialog.js';
import { useAppStore } from '../state/app-store.js';
import { Instant } from './Instant.js';
import { LiveResponseBanner, noteSessionOutcome } from './LiveResponseBanner.js';
import { RunBatchDialog } from './RunBatchDialog.js';
import { ago } from './time.js';
import './devices.css';
import { describeError } from '../../../shared/errors.js';

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
  /** Ticked devices (ids): kept while the search changes, so a selection can be built from several searches. */
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [running, setRunning] = useState(false);
  const [groups, setGroups] = useState<DeviceGroupsView | undefined>();
  const allRef = useRef<HTMLInputElement>(null);
  const connected = workspace?.state === 'ready';

  // Whether this user may add devices, and the agent files the service holds ("Add a device").
  useEffect(() => {
    if (!connected) return;
    let stale = false;
    dispatcher.installerView({}).then(
      (v) => !stale && setInstallers(v),
      (e: unknown) => !stale && setInstallers({ canMake: false, reason: describeError(e), files: [] }),
    );
    return () => {
      stale = true;
    };
  }, [connected, adding]);

  // Groups with their members, for "Select a group" (admins; the list follows devices joining by rule).
  // Asked again when the picker gets the focus: a group added meanwhile is offered at once.
  const deviceCount = devices.length;
  const [groupsAsked, setGroupsAsked] = useState(0);
  useEffect(() => {
    if (!connected) return;
    let stale = false;
    dispatcher.deviceGroups({}).then(
      (v) => !stale && setGroups(v),
      (e: unknown) => !stale && setGroups((previous) => ({ groups: previous?.groups ?? [], reason: describeError(e) })),
    );
    return () => {
      stale = true;
    };
  }, [connected, deviceCount, groupsAsked]);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const list = q
      ? devices.filter((d) => [d.name, d.hostname, d.os, d.id, d.agentVersion].some((v) => v.toLowerCase().includes(q)))
      : devices;
    // Never by presence: a device going offline must not move the rows under the analyst's pointer.
    return [...list].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }, [devices, query]);

  const chosen = useMemo(
    () => devices.filter((d) => selected.has(d.id)).sort((a, b) => a.name.localeCompare(b.name)),
    [devices, selected],
  );
  const shownSelected = shown.filter((d) => selected.has(d.id)).length;
  const allShown = shown.length > 0 && shownSelected === shown.length;
  useEffect(() => {
    if (allRef.current) allRef.current.indeterminate = shownSelected > 0 && !allShown;
  }, [shownSelected, allShown]);

  function toggle(id: string): void {
    setSelected((previous) => {
      const next = new Set(previous);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  }

  /** The header box: every device the search shows, or none of them (others ticked stay ticked). */
  function toggleShown(): void {
    setSelected((previous) => {
      const next = new Set(previous);
      for (const d of shown) {
        if (allShown) next.delete(d.id);
        else next.add(d.id);
      }
      return next;
    });
  }

  /** Ticks every member of a group (the others ticked stay ticked). */
  function selectGroup(name: string): void {
    const group = groups?.groups.find((g) => g.name === name);
    if (!group) return;
    setSelected((previous) => new Set([...previous, ...group.devices.map((d) => d.id)]));
  }

  async function initiate(device: { id: string; name: string }): Promise<void> {
    setOpening(device.id);
    setError(undefined);
    try {
      await openConsole(device);
      noteSessionOutcome(undefined);
    } catch (e) {
      noteSessionOutcome(e);
      setError(`${device.name}: ${describeError(e)}`);
    } finally {
      setOpening(undefined);
    }
  }

  return (
    <div className="page" data-testid="section-devices">
      <div className="toolbar devices__toolbar">
        <input
          className="input toolbar__search"
          type="search"
          placeholder="Search devices (name, OS, id)…"
          aria-label="Search devices"
          data-testid="device-search"
          value={query}
          onChange={(event) => setQuery(event.target.value)}
        />
        <span className="toolbar__meta" data-testid="device-count">
          {shown.length} of {devices.length} devices · {devices.filter((d) => d.online).length} online
          {selected.size > 0 && <span data-testid="selected-count"> · {selected.size} selected</span>}
        </span>
        <span className="toolbar__spacer" />
        {groups && groups.groups.length > 0 && (
          <select
            className="input devices__group"
            aria-label="Select every device of a group"
            data-testid="select-group"
            value=""
            onFocus={() => setGroupsAsked((n) => n + 1)}
            onChange={(event) => selectGroup(event.target.value)}
          >
            <option value="">Select a group…</option>
            {groups.groups.map((g) => (
              <option key={g.name} value={g.name} disabled={g.devices.length === 0}>
                {g.name} ({g.devices.length})
              </option>
            ))}
          </select>
        )}
        {selected.size > 0 && (
          <button
            type="button"
            className="button button--ghost button--small devices__clear"
            data-testid="clear-selection"
            onClick={() => setSelected(new Set())}
          >
            Clear selection
          </button>
        )}
        <button
          type="button"
          className="button"
          data-testid="run-on-selected"
          disabled={chosen.length === 0 || !connected}
          title={
            chosen.length === 0
              ? 'Tick devices in the table first'
              : 'Run one command line on every selected device (a batch)'
          }
          onClick={() => setRunning(true)}
        >
          Run on selected{chosen.length > 0 ? ` (${chosen.length})` : ''}
        </button>
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
      {running && (
        <RunBatchDialog
          devices={chosen}
          onClose={() => setRunning(false)}
          onCreated={(id) => {
            setRunning(false);
            setSelected(new Set());
            useAppStore.getState().showBatch(id);
          }}
        />
      )}
      {workspace?.state === 'starting' && (
        <p className="card__hint">Starting the embedded service and this machine's agent…</p>
      )}
      {workspace?.state === 'failed' && <p className="form-error">The service is not available: {workspace.error}</p>}
      {workspace?.state === 'unreachable' && (
        <p className="banner banner--warn page__banner" data-testid="devices-unreachable">
          Service unreachable: {workspace.error ?? workspace.serviceUrl ?? 'no answer'} — retrying. Devices and consoles
          come back when it answers; cases and evidence work offline.{' '}
          <button
            type="button"
            className="linklike"
            data-testid="devices-open-cases"
            onClick={() => useAppStore.getState().showSection('cases')}
          >
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
            <col className="devices__col-select" />
            <col className="devices__col-name" />
            <col className="devices__col-os" />
            <col className="devices__col-agent" />
            <col className="devices__col-status" />
            <col className="devices__col-isolation" />
            <col className="devices__col-actions" />
          </colgroup>
          <thead>
            <tr>
              <th className="devices__select">
                <input
                  ref={allRef}
                  type="checkbox"
                  data-testid="select-all-shown"
                  aria-label={query.trim() ? 'Select every device the search shows' : 'Select every device'}
                  title={query.trim() ? 'Every device the search shows' : 'Every device'}
                  checked={allShown}
                  disabled={shown.length === 0}
                  onChange={toggleShown}
                />
              </th>
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
                <tr
                  key={d.id}
                  data-testid={`device-row-${d.name}`}
                  data-device-id={d.id}
                  data-online={d.online}
                  data-selected={selected.has(d.id)}
                >
                  <td className="devices__select">
                    <input
                      type="checkbox"
                      data-testid="select-device"
                      aria-label={`Select ${d.name}`}
                      checked={selected.has(d.id)}
                      onChange={() => toggle(d.id)}
                    />
                  </td>
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
                      <div
                        className="cell-dim mono devices__line"
                        title="The service node the agent is connected to (a cluster of nodes)"
                        data-testid="device-node"
                      >
                        via {d.node}
                      </div>
                    ) : (
                      <div
                        className="cell-dim devices__line"
                        data-testid="device-last-seen"
                        title={d.lastSeen ? ago(d.lastSeen) : undefined}
                      >
                        {d.online ? 'seen ' : 'last seen '}
                        {d.lastSeen ? <Instant iso={d.lastSeen} short /> : 'never'}
                        {!d.online && d.lastSeen && ` · ${ago(d.lastSeen)}`}
                      </div>
                    )}
                  </td>
                  <td>
                    {d.isolated ? (
                      <span className="pill pill--warn">isolated</span>
                    ) : (
                      <span className="cell-dim">not isolated</span>
                    )}
                  </td>
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
                <td colSpan={7} className="cell-dim">
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
