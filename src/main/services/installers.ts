/**
 * "Add a device" on the Devices page: the service makes the installer script (POST
 * /api/v1/installers/:os, admins only: it issues a one-time enrollment token) and lists its agent files
 * (GET /api/v1/agent-files). The service enforces the role on every call; main only answers early, in one
 * line, when the signed-in user is not an admin. The script's text goes back to the page, which saves it
 * through the browser's download (it is not kept anywhere by the workstation).
 */
import { httpsBase } from '../../node/profile.js';
import { httpsJson } from '../../node/https-json.js';
import type { AgentFileView, InstallerView, MadeInstallerView } from '../../shared/workstation/ipc-contract.js';
import type { Connection, Workspace } from './workspace.js';

function refusal(connection: Connection): string | undefined {
  return connection.me.role === 'admin'
    ? undefined
    : `adding a device is for admins (you are ${connection.me.name}, ${connection.me.role})`;
}

export class InstallerService {
  constructor(private readonly workspace: Workspace) {}

  private request<T>(connection: Connection, path: string, method: 'GET' | 'POST', body?: unknown): Promise<T> {
    const { profile } = connection;
    return connection.nodes.use(
      (node) => httpsJson<T>(`${httpsBase(node)}${path}`, { method, ca: profile.ca, token: profile.token, body }),
      { idempotent: method === 'GET' },
    );
  }

  async view(): Promise<InstallerView> {
    const connection = this.workspace.current();
    const files = await this.request<AgentFileView[]>(connection, '/api/v1/agent-files', 'GET');
    const reason = refusal(connection);
    return reason ? { canMake: false, reason, files } : { canMake: true, files };
  }

  async make(os: 'linux' | 'windows'): Promise<MadeInstallerView> {
    const connection = this.workspace.current();
    const reason = refusal(connection);
    if (reason) throw new Error(`refused: ${reason}`);
    const made = await this.request<MadeInstallerView>(connection, `/api/v1/installers/${os}`, 'POST', {});
    return {
      os: made.os,
      fileName: made.fileName,
      text: made.text,
      command: made.command,
      expiresAt: made.expiresAt,
      files: made.files.map((f) => ({ target: f.target, name: f.name, size: f.size, sha256: f.sha256 })),
    };
  }
}
