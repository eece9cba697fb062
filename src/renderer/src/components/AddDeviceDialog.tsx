/**
 * "Add a device": pick the OS, make an installer (the service issues a one-time enrollment
 * token and writes it into a script with its CA and the agent's SHA-256), save the script, then run one
 * command on the device. Never `curl … | sudo bash`: the token would sit in shell history and the script
 * would run unread. The script's text lives only in this dialog and in the file the analyst saves.
 */
import { useEffect, useRef, useState } from 'react';
import { dispatcher } from '../state/dispatcher.js';
import type { AgentFileView, InstallerView, MadeInstallerView } from '../../../shared/workstation/ipc-contract.js';
import { CopyButton } from './cases/CopyButton.js';
import { trapFocus } from './ConfirmDialog.js';
import { downloadText } from './download.js';
import { Instant } from './Instant.js';
import { describeError } from '../../../shared/errors.js';

type Os = 'linux' | 'windows';
const OS_LABEL: Record<Os, string> = { linux: 'Linux', windows: 'Windows' };
const TARGET_OF: Record<Os, string> = { linux: 'linux-x64', windows: 'win-x64' };

function filesOf(view: InstallerView | undefined, os: Os): AgentFileView[] {
  return (view?.files ?? []).filter((f) =>
    os === 'windows' ? f.target.startsWith('win-') : f.target.startsWith('linux-'),
  );
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function AddDeviceDialog({ view, onClose }: { view: InstallerView | undefined; onClose(): void }) {
  const [os, setOs] = useState<Os>('linux');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [made, setMade] = useState<MadeInstallerView | undefined>();
  const [saved, setSaved] = useState(false);
  const firstRef = useRef<HTMLButtonElement>(null);
  const dialogRef = useRef<HTMLDivElement>(null);

  useEffect(() => firstRef.current?.focus(), []);
  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') onClose();
      else if (event.key === 'Tab') trapFocus(event, dialogRef.current);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  const files = filesOf(view, os);

  async function make(): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      setMade(await dispatcher.makeInstaller({ os }));
      setSaved(false);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  function choose(next: Os): void {
    setOs(next);
    setMade(undefined);
    setError(undefined);
  }

  function save(m: MadeInstallerView): void {
    downloadText(m.fileName, m.text, m.os === 'linux' ? 'text/x-shellscript' : 'text/plain');
    setSaved(true);
  }

  return (
    <div className="dialog-backdrop" role="presentation" onMouseDown={onClose}>
      <div
        ref={dialogRef}
        className="dialog add-device"
        role="dialog"
        aria-modal="true"
        aria-labelledby="add-device-title"
        data-testid="add-device-dialog"
        onMouseDown={(event) => event.stopPropagation()}
      >
        <h2 id="add-device-title" className="dialog__title">
          Add a device
        </h2>
        <div className="dialog__body">
          <div className="add-device__os">
            <span className="add-device__label">Operating system</span>
            <div className="segmented" role="group" aria-label="Operating system">
              {(['linux', 'windows'] as const).map((o, i) => (
                <button
                  key={o}
                  ref={i === 0 ? firstRef : undefined}
                  type="button"
                  className="segmented__item"
                  aria-pressed={os === o}
                  data-testid={`add-device-os-${o}`}
                  onClick={() => choose(o)}
                >
                  {OS_LABEL[o]}
                </button>
              ))}
            </div>
          </div>

          {files.length === 0 ? (
            <p className="form-error" data-testid="add-device-no-file">
              The service has no {OS_LABEL[os]} agent yet. An admin adds one on the service with{' '}
              <code className="mono">lr-server agent-files add FILE --target {TARGET_OF[os]} --data DIR</code>.
            </p>
          ) : (
            !made && (
              <p>
                Makes a script holding a one-time enrollment token (valid 24 h), the service's CA certificate and the
                SHA-256 of the agent it installs ({files.map((f) => `${f.name}, ${mib(f.size)}`).join('; ')}).
              </p>
            )
          )}

          {made && (
            <div className="add-device__result" data-testid="add-device-result">
              <ol className="add-device__steps">
                <li>
                  Save <span className="mono">{made.fileName}</span> and copy it to the device.{' '}
                  <button
                    type="button"
                    className="button button--small"
                    data-testid="add-device-save"
                    onClick={() => save(made)}
                  >
                    Save {made.fileName}
                  </button>
                  {saved && <span className="add-device__saved"> saved</span>}
                </li>
                <li>
                  {made.os === 'linux'
                    ? 'On the device, run:'
                    : 'On the device, from an elevated PowerShell prompt, run:'}
                  <div className="add-device__command">
                    <code className="mono" data-testid="add-device-command">
                      {made.command}
                    </code>
                    <CopyButton value={made.command} label="command" testId="add-device-copy" />
                  </div>
                </li>
              </ol>
              <p className="add-device__note">
                The file holds a one-time token: it enrolls one device, until{' '}
                <span data-testid="add-device-expiry">
                  <Instant iso={made.expiresAt} />
                </span>
                . Keep it private and delete it once used.
              </p>
              <p className="add-device__label">
                The script installs only an agent with this SHA-256 (checked on the device before it runs):
              </p>
              <ul className="add-device__hashes">
                {made.files.map((f) => (
                  <li key={f.target} data-testid={`add-device-hash-${f.target}`}>
                    <span className="mono add-device__file">{f.name}</span>
                    <span className="mono add-device__sha">{f.sha256}</span>
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
        {error && (
          <p className="form-error" data-testid="add-device-error">
            {error}
          </p>
        )}
        <div className="dialog__actions">
          <button type="button" className="button button--ghost" onClick={onClose} data-testid="add-device-close">
            Close
          </button>
          <button
            type="button"
            className="button"
            disabled={busy || files.length === 0}
            onClick={() => void make()}
            data-testid="add-device-make"
          >
            {busy ? 'Making…' : made ? 'Make another installer' : `Make ${OS_LABEL[os]} installer`}
          </button>
        </div>
      </div>
    </div>
  );
}
