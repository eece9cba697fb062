/**
 * REST routes of the agent files and installers ("enrollment in one line"):
 *
 * - `GET /api/v1/agent-files/<name>`: the current agent file of a target, streamed with Content-Length and
 *   `X-Content-SHA256`. The installer runs on a device that has no key yet, so its credential is the
 *   one-time enrollment token it carries (`Authorization: Bearer lre_…`), checked WITHOUT being spent (the
 *   enrollment that follows spends it); an analyst's API token works too. Agent builds hold no secret, but
 *   an open route would let anyone on the network pull ~100 MB files in a loop: with a credential, a wrong
 *   or used token counts as a failed authentication for the per-address limiter (rate-limit.ts) like every
 *   other credential, and at most MAX_DOWNLOADS files stream at once. Only the three names of
 *   agentFileName() are looked up: any other name is 404 before the disk is touched.
 * - `GET /api/v1/agent-files`: targets, sizes and SHA-256 (any signed-in user).
 * - `POST /api/v1/installers/linux|windows` (admins): a new one-time token and the installer script
 *   carrying it (installers.ts); the answer holds the script text, its expiry and the agent files' hashes.
 *
 * Paths are matched on the raw request path, as library-routes.ts does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { Logger } from '../node/log.js';
import { AgentFiles, agentTargetOfName } from './agent-files.js';
import { makeInstaller, NoAgentFileError } from './installers.js';
import type { AuthLimiter } from './rate-limit.js';
import { readJsonBody, RestError, sendJson } from './rest-io.js';
import type { Store, User } from './store.js';
import { describeError } from '../shared/errors.js';

/** Agent files streaming at once from this node; more wait for a 503 with Retry-After. */
export const MAX_DOWNLOADS = 16;

const installerBody = z
  .object({
    ttlHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 7)
      .default(24),
  })
  .strict();

export interface AgentFilesDeps {
  dataDir: string;
  store: Store;
  log: Logger;
  limiter?: AuthLimiter | undefined;
  files?: AgentFiles;
}

export type AgentFilesRoute = (
  req: IncomingMessage,
  res: ServerResponse,
  token: string | null,
  remote: string,
) => Promise<boolean>;

export function agentFilesRoute(d: AgentFilesDeps): AgentFilesRoute {
  const files = d.files ?? new AgentFiles(d.dataDir);
  let streaming = 0;

  const refuse = (remote: string, message: string): never => {
    d.limiter?.failed(remote);
    throw new RestError(401, message);
  };
  const signedIn = (token: string | null, remote: string): User => {
    const user = token ? d.store.authenticate(token) : null;
    return user ?? refuse(remote, 'not authenticated: missing, invalid, expired or revoked API token');
  };

  async function download(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    token: string | null,
    remote: string,
  ): Promise<void> {
    const target = agentTargetOfName(name);
    if (!target) throw new RestError(404, 'no such agent file');
    // An enrollment token (checked, not spent) or an analyst's API token.
    if (!token)
      refuse(remote, 'an agent file needs the enrollment token of the installer (Authorization: Bearer lre_…)');
    else if (token.startsWith('lre_')) {
      const check = d.store.checkEnrollToken(token);
      if (!check.ok) refuse(remote, `agent file refused: ${check.error}`);
    } else signedIn(token, remote);
    if (streaming >= MAX_DOWNLOADS) {
      res.setHeader('retry-after', '5');
      throw new RestError(503, 'too many agent downloads at once: try again in a few seconds');
    }
    streaming++;
    try {
      const opened = await files.open(target);
      if (!opened) throw new RestError(404, `the service has no ${name} yet`);
      const { handle, info } = opened;
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(info.size),
        'cache-control': 'no-store',
        'x-content-sha256': info.sha256,
      });
      try {
        // Reads the very inode that was hashed (a file published meanwhile is another inode).
        await pipeline(handle.createReadStream({ start: 0, end: Math.max(0, info.size - 1), autoClose: false }), res);
        d.log.info('agent file sent', { name, remote, sha256: info.sha256 });
      } catch (e) {
        d.log.warn('agent file download interrupted', { name, remote, error: describeError(e) });
      } finally {
        await handle.close();
      }
    } finally {
      streaming--;
    }
  }

  return async (req, res, token, remote) => {
    const rawPath = (req.url ?? '/').split('?', 1)[0] ?? '';
    const method = req.method ?? 'GET';
    const fileMatch = /^\/api\/v1\/agent-files\/([^/]*)$/.exec(rawPath);
    const installerMatch = /^\/api\/v1\/installers\/([^/]*)$/.exec(rawPath);
    if (rawPath !== '/api/v1/agent-files' && !fileMatch && !installerMatch) return false;
    try {
      if (rawPath === '/api/v1/agent-files' && method === 'GET') {
        signedIn(token, remote);
        sendJson(res, 200, await files.list());
      } else if (fileMatch && method === 'GET') {
        await download(req, res, fileMatch[1] as string, token, remote);
      } else if (installerMatch && method === 'POST') {
        const user = signedIn(token, remote);
        if (user.role !== 'admin')
          throw new RestError(403, `refused: making an installer needs the admin role (you are ${user.role})`);
        const os = installerMatch[1];
        if (os !== 'linux' && os !== 'windows') throw new RestError(404, 'installers are for linux or windows');
        const body = await readJsonBody(req, installerBody);
        try {
          const made = await makeInstaller(d.dataDir, d.store, os, body.ttlHours * 3_600_000, files);
          d.log.info('installer made', { by: user.name, os, expiresAt: made.expiresAt });
          sendJson(res, 200, made);
        } catch (e) {
          if (e instanceof NoAgentFileError) throw new RestError(409, e.message);
          throw e;
        }
      } else {
        throw new RestError(405, `${method} is not allowed on ${rawPath}`);
      }
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return true;
      }
      req.resume();
      if (e instanceof RestError) sendJson(res, e.status, { error: e.message });
      else {
        d.log.error('agent files route failed', { error: describeError(e) });
        sendJson(res, 500, { error: describeError(e) });
      }
    }
    return true;
  };
}
