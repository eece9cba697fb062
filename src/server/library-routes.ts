/**
 * REST routes of the script library, of trusted script publishers and of the unsigned-scripts setting,
 * plus the agents' one-time file download. Called by http.ts before its own routes; answers true when
 * it handled the request. Paths are matched on the RAW request path: URL normalisation would turn
 * `/api/v1/library/..` into another route instead of refusing the name.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createPublicKey, verify } from 'node:crypto';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { roleAllows } from '../shared/commands/catalog.js';
import { libraryNameProblem, PUBLISHER_NAME, UNSIGNED_SCRIPTS_WARNING } from '../shared/commands/library-rules.js';
import { agentFileProofPayload } from '../shared/wire/protocol.js';
import { ed25519PublicKey } from '../node/script-signature.js';
import type { Store, User } from './store.js';
import { LibraryService } from './library-service.js';
import { settingsUpdateSchema } from './tenant-settings.js';
import { LibraryConflictError, LibraryContentError } from './library-store.js';
import type { AgentFileGrant } from './agent-file-tokens.js';
import { receiveUpload, uploadMetaSchema } from './library-upload.js';
import { answerRestError, readJsonBody, RestError, sendJson } from './rest-io.js';
import { describeError } from '../shared/errors.js';

const publisherBody = z.object({
  name: z
    .string()
    .regex(PUBLISHER_NAME, 'publisher names are letters, digits, - _ . (max 64, not starting with a dot)'),
  publicKey: z.string().min(40).max(4096),
});
const settingsBody = settingsUpdateSchema;

function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new RestError(400, 'malformed percent-encoding in the path');
  }
}

function checkName(name: string): void {
  const problem = libraryNameProblem(name);
  if (problem) throw new RestError(400, `invalid library file name ${JSON.stringify(name.slice(0, 140))}: ${problem}`);
}

function requireAdvanced(user: User): void {
  if (!roleAllows(user.role, 'advanced'))
    throw new RestError(403, `refused: the library needs the advanced role (you are ${user.role})`);
}

function requireManager(user: User): void {
  if (!LibraryService.mayManage(user)) throw new RestError(403, LibraryService.manageRefusal(user));
}

function requireAdmin(user: User, what: string): void {
  if (user.role !== 'admin') throw new RestError(403, `refused: ${what} needs the admin role (you are ${user.role})`);
}

/**
 * Which device signed this download request (headers `x-lr-device` and `x-lr-device-proof`, the device
 * key's Ed25519 signature of the token, see agentFileProofPayload): the same key that authenticates the
 * device's link. Null when the proof is missing or does not verify.
 */
export function provenDevice(req: IncomingMessage, store: Pick<Store, 'getDevice'>, token: string): string | null {
  const claimed = req.headers['x-lr-device'];
  const proof = req.headers['x-lr-device-proof'];
  if (typeof claimed !== 'string' || typeof proof !== 'string' || proof.length > 200) return null;
  const device = store.getDevice(claimed);
  if (!device) return null;
  try {
    return verify(
      null,
      Buffer.from(agentFileProofPayload(token, device.id)),
      createPublicKey(device.publicKey),
      Buffer.from(proof, 'base64'),
    )
      ? device.id
      : null;
  } catch {
    return null;
  }
}

/**
 * GET /api/v1/agent/files/:token — no user: the one-time token (sent over the device's link) and the
 * device's signature of it are the credential. The proof is checked before the token is spent, so a
 * request without it cannot burn another device's token.
 */
async function serveAgentFile(
  req: IncomingMessage,
  res: ServerResponse,
  lib: LibraryService,
  token: string,
): Promise<void> {
  const deviceId = provenDevice(req, lib.store, token);
  if (!deviceId)
    throw new RestError(403, 'download refused: the request is not signed by an enrolled device (x-lr-device-proof)');
  let grant: AgentFileGrant | null;
  try {
    grant = await lib.tokens.redeem(token);
  } catch (e) {
    // In a cluster the token store is on NATS: unreachable is not "unknown token", the agent may retry.
    lib.log.warn('download token check failed', { error: describeError(e) });
    throw new RestError(503, 'download tokens cannot be checked right now (the cluster is unreachable); try again');
  }
  if (!grant) throw new RestError(404, 'unknown, used or expired download token');
  if (deviceId !== grant.deviceId) {
    lib.log.warn('download token presented by another device', {
      deviceId,
      grantedTo: grant.deviceId,
      name: grant.name,
    });
    throw new RestError(403, 'this download token belongs to another device');
  }
  const file = lib.files.get(grant.name);
  if (!file || file.sha256 !== grant.sha256)
    throw new RestError(410, `library file ${grant.name} was replaced or deleted after the command was prepared`);
  let path: string;
  try {
    // In a cluster the content may have been uploaded on another node: fetched (and hash-checked) first.
    path = await lib.files.contentPath(file);
  } catch (e) {
    if (!(e instanceof LibraryContentError)) throw e;
    lib.log.warn('library content unavailable', { name: file.name, error: e.message });
    throw new RestError(503, e.message);
  }
  // Served as stored: the service does not re-hash; the agent checks the SHA-256 and the signature.
  const handle = await open(path, 'r').catch(() => {
    throw new RestError(410, `library file ${file.name} is missing on the service's disk`);
  });
  const st = await handle.stat().catch(async (e: Error) => {
    await handle.close();
    throw e;
  });
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(st.size),
    'cache-control': 'no-store',
    'x-lr-sha256': file.sha256,
  });
  // pipeline closes the file when the agent goes away half-way, too.
  pipeline(handle.createReadStream(), res).then(
    () => lib.log.info('library file sent to an agent', { name: file.name, deviceId }),
    (e: Error) => lib.log.warn('library file download interrupted', { name: file.name, deviceId, error: e.message }),
  );
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  user: User | null,
  lib: LibraryService,
): Promise<boolean> {
  const [rawPath = '', rawQuery = ''] = (req.url ?? '/').split('?', 2);
  const method = req.method ?? 'GET';

  const agentFile = /^\/api\/v1\/agent\/files\/([^/]+)$/.exec(rawPath);
  if (agentFile && method === 'GET') {
    await serveAgentFile(req, res, lib, segment(agentFile[1] as string));
    return true;
  }
  if (!user) return false; // http.ts answers 401

  if (rawPath === '/api/v1/library' && method === 'GET') {
    requireAdvanced(user);
    sendJson(res, 200, lib.list());
    return true;
  }
  // Everything after the prefix is the name, slashes included, so that `a/b` is refused, not routed.
  const libraryItem = rawPath.startsWith('/api/v1/library/') ? rawPath.slice('/api/v1/library/'.length) : null;
  if (libraryItem !== null && (method === 'PUT' || method === 'DELETE')) {
    requireManager(user);
    const name = segment(libraryItem);
    checkName(name);
    if (method === 'DELETE') {
      if (!(await lib.files.delete(name))) throw new RestError(404, `no library file ${name}`);
      lib.log.info('library file deleted', { name, by: user.name });
      sendJson(res, 200, { deleted: name });
      return true;
    }
    const meta = uploadMetaSchema.safeParse(Object.fromEntries(new URLSearchParams(rawQuery)));
    if (!meta.success) {
      const issue = meta.error.issues[0];
      throw new RestError(
        400,
        `invalid upload: ${issue ? `${issue.path.join('.') || 'query'}: ${issue.message}` : 'bad query'}`,
      );
    }
    const { file, replaced } = await receiveUpload(req, lib, user, name, meta.data);
    lib.log.info('library file uploaded', { name, size: file.size, sha256: file.sha256, by: user.name, replaced });
    sendJson(res, replaced ? 200 : 201, { ...lib.record(file), replaced });
    return true;
  }

  if (rawPath === '/api/v1/publishers') {
    requireAdmin(user, 'managing script publishers');
    if (method === 'GET') {
      sendJson(res, 200, lib.files.listPublishers());
      return true;
    }
    if (method === 'POST') {
      const body = await readJsonBody(req, publisherBody);
      let publicKey: string;
      try {
        publicKey = ed25519PublicKey(body.publicKey).export({ type: 'spki', format: 'pem' }).toString(); // stored normalised
      } catch (e) {
        throw new RestError(400, `publisher ${body.name}: ${describeError(e)}`);
      }
      try {
        const p = lib.files.addPublisher(body.name, publicKey, user.name);
        lib.log.info('script publisher added', { name: p.name, fingerprint: p.fingerprint, by: user.name });
        sendJson(res, 201, p);
      } catch (e) {
        if (e instanceof LibraryConflictError) throw new RestError(409, e.message);
        throw e;
      }
      return true;
    }
  }
  const publisherItem = /^\/api\/v1\/publishers\/([^/]+)$/.exec(rawPath);
  if (publisherItem && method === 'DELETE') {
    requireAdmin(user, 'managing script publishers');
    const name = segment(publisherItem[1] as string);
    if (!lib.files.deletePublisher(name)) throw new RestError(404, `no publisher ${name}`);
    lib.log.info('script publisher deleted', { name, by: user.name });
    sendJson(res, 200, { deleted: name });
    return true;
  }

  if (rawPath === '/api/v1/settings' && (method === 'GET' || method === 'PUT')) {
    requireAdmin(user, 'tenant settings');
    if (method === 'PUT') {
      const body = await readJsonBody(req, settingsBody);
      if (body.unsignedScripts !== undefined) {
        lib.setUnsignedScriptsAllowed(body.unsignedScripts);
        lib.log.warn(`unsigned scripts ${body.unsignedScripts ? 'allowed' : 'refused'} on this tenant`, {
          by: user.name,
        });
      }
      lib.tenant.apply(body);
      if (body.liveResponse !== undefined || body.liveResponseServers !== undefined || body.limits)
        lib.log.warn('tenant settings changed', { by: user.name, change: body });
      const now = lib.tenant.view(lib.unsignedScriptsAllowed());
      sendJson(res, 200, { ...now, ...(body.unsignedScripts ? { warning: UNSIGNED_SCRIPTS_WARNING } : {}) });
      return true;
    }
    sendJson(res, 200, lib.tenant.view(lib.unsignedScriptsAllowed()));
    return true;
  }
  return false;
}

/**
 * Handles the library's routes; false when the request is not one of them (or needs a user and has
 * none: http.ts then answers 401). Errors become one-line JSON answers with their status.
 */
export async function handleLibraryRoute(
  req: IncomingMessage,
  res: ServerResponse,
  user: User | null,
  lib: LibraryService,
): Promise<boolean> {
  try {
    return await route(req, res, user, lib);
  } catch (e) {
    answerRestError(req, res, e, lib.log, 'library request');
    return true;
  }
}
