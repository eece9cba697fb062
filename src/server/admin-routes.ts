/**
 * REST routes of access control (admins only): users and token revocation, device groups with their
 * remediation level and membership, device tags, and the command log's verification and SIEM export.
 * Called by http.ts before its own routes (so `/api/v1/log/verify` is not taken for an entry id); answers
 * true when it handled the request. Paths are matched on the raw request path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Store, User } from './store.js';
import type { Logger } from '../node/log.js';
import { answerRestError, readJsonBody, RestError, sendJson } from './rest-io.js';
import { GroupError, groupRuleSchema, REMEDIATION_LEVELS, TAG, type GroupStore } from './groups.js';
import type { TokenWatcher, UserAdmin } from './tokens.js';
import type { CommandLogSource } from './command-log-source.js';
import { deviceNameProblem, MAX_DEVICE_NAME } from '../shared/wire/device-name.js';

export interface AdminDeps {
  store: Store;
  groups: GroupStore;
  users: UserAdmin;
  watcher: TokenWatcher;
  log: Logger;
  /** Verification and export: this node's chain, or in a cluster every node's log, from the cluster stream. */
  commandLog: CommandLogSource;
}

const level = z.enum(REMEDIATION_LEVELS);
const addGroupBody = z.object({ name: z.string().min(1).max(64), level, rule: groupRuleSchema.optional() }).strict();
const levelBody = z.object({ level }).strict();
const ruleBody = z.object({ rule: groupRuleSchema.nullable() }).strict();
const assignBody = z.object({ device: z.string().min(1).max(128) }).strict();
const tagsBody = z.object({ tags: z.array(z.string().regex(TAG)).max(64) }).strict();
const renameBody = z.object({ name: z.string().max(MAX_DEVICE_NAME + 1) }).strict();

function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new RestError(400, 'malformed percent-encoding in the path');
  }
}

export function requireAdmin(user: User, what: string): void {
  if (user.role !== 'admin') throw new RestError(403, `refused: ${what} needs the admin role (you are ${user.role})`);
}

function device(store: Store, ref: string) {
  const d = store.findDevice(ref);
  if ('error' in d) throw new RestError(404, d.error);
  return d;
}

async function route(req: IncomingMessage, res: ServerResponse, user: User, d: AdminDeps): Promise<boolean> {
  const [rawPath = '', rawQuery = ''] = (req.url ?? '/').split('?', 2);
  const method = req.method ?? 'GET';

  // ---------- command log integrity ----------
  if (rawPath === '/api/v1/log/verify' && method === 'GET') {
    requireAdmin(user, 'verifying the command log');
    const report = await d.commandLog.verify();
    d.log.info('command log verified', {
      by: user.name,
      ok: report.ok,
      entries: report.entries,
      problems: report.problems.length,
      ...(report.nodes ? { nodes: report.nodes.length } : {}),
    });
    sendJson(res, 200, report);
    return true;
  }
  if (rawPath === '/api/v1/log/export' && method === 'GET') {
    requireAdmin(user, 'exporting the command log');
    const after = Number(new URLSearchParams(rawQuery).get('after') ?? '0');
    if (!Number.isInteger(after) || after < 0) throw new RestError(400, 'after must be a non-negative integer');
    await d.commandLog.exportJsonl(res, after);
    return true;
  }

  // ---------- users and tokens ----------
  if (rawPath === '/api/v1/users' && method === 'GET') {
    requireAdmin(user, 'listing users');
    sendJson(res, 200, d.users.list());
    return true;
  }
  const revoke = /^\/api\/v1\/users\/([^/]+)\/revoke$/.exec(rawPath);
  if (revoke && method === 'POST') {
    requireAdmin(user, 'revoking tokens');
    const name = segment(revoke[1] as string);
    if (!d.users.userId(name)) throw new RestError(404, `no user ${name}`);
    req.resume();
    const revoked = d.users.revoke(name);
    d.watcher.check(); // its consoles and sessions end now
    d.log.warn('API tokens revoked', { user: name, tokens: revoked, by: user.name });
    sendJson(res, 200, { user: name, revoked });
    return true;
  }

  // ---------- device groups ----------
  if (rawPath === '/api/v1/groups' && method === 'GET') {
    requireAdmin(user, 'device groups');
    const groups = d.groups.list().map((g) => ({ ...g, devices: [] as { id: string; name: string; by: string }[] }));
    const byName = new Map(groups.map((g) => [g.name, g]));
    for (const dev of d.store.listDevices()) {
      const m = d.groups.groupOf(dev);
      byName.get(m.group.name)?.devices.push({ id: dev.id, name: dev.name, by: m.by });
    }
    sendJson(res, 200, groups);
    return true;
  }
  if (rawPath === '/api/v1/groups' && method === 'POST') {
    requireAdmin(user, 'device groups');
    const body = await readJsonBody(req, addGroupBody);
    const g = d.groups.add(body.name, body.level, body.rule && Object.keys(body.rule).length ? body.rule : null);
    d.log.info('device group added', { group: g.name, level: g.remediationLevel, by: user.name });
    sendJson(res, 201, g);
    return true;
  }
  const groupItem = /^\/api\/v1\/groups\/([^/]+)(\/level|\/rule|\/devices)?$/.exec(rawPath);
  if (groupItem) {
    requireAdmin(user, 'device groups');
    const name = segment(groupItem[1] as string);
    const sub = groupItem[2];
    if (sub === '/level' && method === 'PUT') {
      const body = await readJsonBody(req, levelBody);
      const g = d.groups.setLevel(name, body.level);
      d.log.warn('remediation level changed', { group: name, level: body.level, by: user.name });
      sendJson(res, 200, g);
      return true;
    }
    if (sub === '/rule' && method === 'PUT') {
      const body = await readJsonBody(req, ruleBody);
      sendJson(res, 200, d.groups.setRule(name, body.rule && Object.keys(body.rule).length ? body.rule : null));
      return true;
    }
    if (sub === '/devices' && method === 'POST') {
      const body = await readJsonBody(req, assignBody);
      const dev = device(d.store, body.device);
      d.groups.assign(dev.id, name, user.name);
      d.log.info('device assigned to a group', { deviceId: dev.id, group: name, by: user.name });
      sendJson(res, 200, { device: dev.id, deviceName: dev.name, group: name });
      return true;
    }
    if (sub === undefined && method === 'DELETE') {
      req.resume();
      d.groups.delete(name);
      sendJson(res, 200, { deleted: name });
      return true;
    }
  }
  const deviceName = /^\/api\/v1\/devices\/([^/]+)\/name$/.exec(rawPath);
  if (deviceName && method === 'PUT') {
    requireAdmin(user, 'renaming a device');
    const dev = device(d.store, segment(deviceName[1] as string));
    const body = await readJsonBody(req, renameBody);
    const problem = deviceNameProblem(body.name);
    if (problem) throw new RestError(400, problem);
    const r = d.store.renameDevice(dev.id, body.name);
    if (!r.ok) throw new RestError(409, r.error);
    d.log.warn('device renamed', { deviceId: dev.id, from: r.previous, to: body.name, by: user.name });
    sendJson(res, 200, { device: dev.id, name: body.name, previous: r.previous });
    return true;
  }
  const deviceGroup = /^\/api\/v1\/devices\/([^/]+)\/(group|tags)$/.exec(rawPath);
  if (deviceGroup) {
    requireAdmin(user, 'device groups');
    const dev = device(d.store, segment(deviceGroup[1] as string));
    if (deviceGroup[2] === 'group' && method === 'GET') {
      const m = d.groups.groupOf(dev);
      sendJson(res, 200, {
        device: dev.id,
        deviceName: dev.name,
        group: m.group.name,
        remediationLevel: m.group.remediationLevel,
        by: m.by,
        tags: d.groups.tags(dev.id),
      });
      return true;
    }
    if (deviceGroup[2] === 'group' && method === 'DELETE') {
      req.resume();
      d.groups.assign(dev.id, null, user.name);
      sendJson(res, 200, { device: dev.id, group: d.groups.groupOf(dev).group.name });
      return true;
    }
    if (deviceGroup[2] === 'tags' && method === 'PUT') {
      const body = await readJsonBody(req, tagsBody);
      d.groups.setTags(dev.id, body.tags);
      sendJson(res, 200, { device: dev.id, tags: d.groups.tags(dev.id), group: d.groups.groupOf(dev).group.name });
      return true;
    }
  }
  return false;
}

/** Handles the access-control routes; false when the request is not one of them. */
export async function handleAdminRoute(
  req: IncomingMessage,
  res: ServerResponse,
  user: User,
  deps: AdminDeps,
): Promise<boolean> {
  try {
    return await route(req, res, user, deps);
  } catch (e) {
    answerRestError(
      req,
      res,
      e instanceof GroupError ? new RestError(e.status, e.message) : e,
      deps.log,
      'admin request',
    );
    return true;
  }
}
