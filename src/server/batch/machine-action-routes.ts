/**
 * The vendor-shaped automation routes, on the batch engine (one batch of kind `machineaction` per call,
 * on one device):
 *   POST /api/v1/machines/{id}/runliveresponse                       → 201 machine action
 *   GET  /api/v1/machineactions?$top=N                               → {value: [machine action…]}, newest first
 *   GET  /api/v1/machineactions/{id}                                 → machine action
 *   POST /api/v1/machineactions/{id}/cancel                          → machine action
 *   GET  /api/v1/machineactions/{id}/GetLiveResponseResultDownloadLink(index=N) → {value: link}
 *   GET  /api/v1/results/{token}   (no API token: the link is the credential, once, 30 minutes)
 * Errors of the vendor routes have the vendor's shape: {"error":{"code","message","target"}}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import {
  DEFAULT_BATCH_EXPIRY_SEC,
  type BatchCreate,
  type BatchKind,
  type BatchRecord,
  type BatchResults,
  type BatchSummary,
} from '../../shared/wire/batch.js';
import { httpsBase } from '../../node/profile.js';
import type { Limits } from '../config.js';
import { readJsonBody, RestError, sendJson } from '../rest-io.js';
import type { Store, User } from '../store.js';
import type { Logger } from '../../node/log.js';
import { ResultLinks, type ResultGrant } from '../result-links.js';
import {
  cancelMachineActionRequest,
  commandStateOf,
  consoleLineOf,
  machineActionOf,
  runLiveResponseRequest,
  vendorCommandOf,
  type MachineAction,
} from './machine-actions.js';
import { describeError } from '../../shared/errors.js';

type MaybePromise<T> = T | Promise<T>;

/** What these routes need of the batch engine (batch-runner.ts). */
export interface MachineActionEngine {
  create(user: User, request: BatchCreate, opts: { kind: BatchKind }): MaybePromise<BatchRecord>;
  get(id: string): MaybePromise<BatchRecord | null | undefined>;
  list(q: { limit: number; kind?: BatchKind }): MaybePromise<BatchSummary[]>;
  activeOnDevice(deviceId: string, kind: BatchKind): MaybePromise<string[]>;
  cancel(id: string, user: User): MaybePromise<BatchRecord>;
  results(id: string, q: { device?: string; step?: number; limit?: number }): MaybePromise<BatchResults>;
  file(
    id: string,
    deviceId: string,
    step: number,
  ): MaybePromise<{ path: string; name: string; size: number; sha256: string } | null>;
  text(id: string, deviceId: string, step: number): MaybePromise<string | null>;
}

const VENDOR_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'ResourceNotFound',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  429: 'TooManyRequests',
};

/** A refusal of a vendor route, answered in the vendor's error shape. */
export class VendorError extends RestError {
  constructor(
    status: number,
    message: string,
    readonly code = VENDOR_CODES[status] ?? 'InternalError',
  ) {
    super(status, message);
  }
}

export function sendVendorError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { code, message } }, headers);
}

/** Whether a path is one of the vendor's (their errors take the vendor's shape). */
export function isVendorPath(path: string): boolean {
  return /^\/api\/v1\/(machines\/[^/]+\/runliveresponse|machineactions)(\/|$)/i.test(path);
}

const RUN = /^\/api\/v1\/machines\/([^/]+)\/runliveresponse$/i;
const ACTION = /^\/api\/v1\/machineactions\/([A-Za-z0-9_-]{1,64})$/i;
const CANCEL = /^\/api\/v1\/machineactions\/([A-Za-z0-9_-]{1,64})\/cancel$/i;
const LINK =
  /^\/api\/v1\/machineactions\/([A-Za-z0-9_-]{1,64})\/GetLiveResponseResultDownloadLink\(index=(\d{1,3})\)$/i;
const RESULT = /^\/api\/v1\/results\/([^/]+)$/;
const DEFAULT_TOP = 100;
const MAX_TOP = 1000;

function decodedPath(req: IncomingMessage): string {
  const raw = new URL(req.url ?? '/', 'https://service').pathname;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new VendorError(400, 'malformed percent-encoding in the path');
  }
}

export interface MachineActionDeps {
  engine: MachineActionEngine;
  store: Pick<Store, 'findDevice' | 'getDevice'>;
  limits: () => Limits;
  /** The service's address as clients reach it (config.publicUrl): links are built on it. */
  publicUrl: string;
  links?: ResultLinks;
  log?: Logger;
}

/** Cancel comments remembered at most (the oldest are forgotten first). */
const MAX_CANCEL_COMMENTS = 10_000;

export class MachineActionRoutes {
  readonly links: ResultLinks;
  /** Devices whose runliveresponse is being created now: the one-action rule holds for calls arriving together. */
  private readonly creating = new Set<string>();
  /** Comments given with cancels (the engine keeps who cancelled, not why). This node's memory only. */
  private readonly cancelComments = new Map<string, string>();

  constructor(private readonly d: MachineActionDeps) {
    this.links = d.links ?? new ResultLinks();
  }

  /** The authenticated vendor routes; true when handled. */
  async route(req: IncomingMessage, res: ServerResponse, user: User): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'https://service');
    if (!isVendorPath(url.pathname)) return false;
    try {
      await this.handle(req, res, user, decodedPath(req), url.searchParams);
    } catch (e) {
      req.resume();
      if (res.headersSent) return true;
      if (e instanceof VendorError) sendVendorError(res, e.status, e.code, e.message);
      else if (e instanceof RestError)
        sendVendorError(res, e.status, VENDOR_CODES[e.status] ?? 'BadRequest', e.message); // the engine's BatchError too
      else {
        this.d.log?.error('machine action request failed', { error: (e as Error).stack ?? String(e) });
        sendVendorError(res, 500, 'InternalError', 'internal error (see the service log)');
      }
    }
    return true;
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    user: User,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    let m: RegExpExecArray | null;
    if (req.method === 'POST' && (m = RUN.exec(path)))
      return sendJson(res, 201, await this.runLiveResponse(req, user, m[1] as string));
    if (req.method === 'GET' && path.toLowerCase() === '/api/v1/machineactions')
      return sendJson(res, 200, { value: await this.list(query) });
    if (req.method === 'GET' && (m = ACTION.exec(path)))
      return sendJson(res, 200, this.show(await this.action(m[1] as string)));
    if (req.method === 'POST' && (m = CANCEL.exec(path))) {
      const body = await readJsonBody(req, cancelMachineActionRequest);
      const b = await this.action(m[1] as string);
      const cancelled = await this.d.engine.cancel(b.id, user);
      // The comment of the cancel that took effect (cancelling a finished action changes nothing).
      if (body.Comment && !b.endedAt && cancelled.cancelledBy === user.name) {
        if (this.cancelComments.size >= MAX_CANCEL_COMMENTS)
          this.cancelComments.delete(this.cancelComments.keys().next().value as string);
        this.cancelComments.set(b.id, body.Comment);
      }
      return sendJson(res, 200, this.show(cancelled));
    }
    if (req.method === 'GET' && (m = LINK.exec(path)))
      return sendJson(res, 200, { value: await this.downloadLink(m[1] as string, Number(m[2])) });
    throw new VendorError(404, `no route ${req.method} ${path}`);
  }

  private async runLiveResponse(req: IncomingMessage, user: User, deviceRef: string): Promise<MachineAction> {
    const body = await readJsonBody(req, runLiveResponseRequest);
    const device = this.d.store.findDevice(deviceRef);
    if ('error' in device) throw new VendorError(404, device.error);
    if (this.creating.has(device.id))
      throw new VendorError(400, `${device.name} already has an action being created`, 'ActiveRequestAlreadyExists');
    this.creating.add(device.id);
    try {
      const max = this.d.limits().activeActionsPerMachine;
      const active = await this.d.engine.activeOnDevice(device.id, 'machineaction');
      if (active.length >= max) {
        throw new VendorError(
          400,
          `${device.name} already has ${active.length === 1 ? `an action pending or in progress (${active[0]})` : `${active.length} actions pending or in progress`}: wait for it or cancel it`,
          'ActiveRequestAlreadyExists',
        );
      }
      const request: BatchCreate = {
        commands: body.Commands.map(consoleLineOf),
        target: { devices: [device.id] },
        concurrency: 1,
        expiresInSec: DEFAULT_BATCH_EXPIRY_SEC,
      };
      if (body.Comment !== undefined) request.comment = body.Comment;
      return this.show(await this.d.engine.create(user, request, { kind: 'machineaction' }));
    } finally {
      this.creating.delete(device.id);
    }
  }

  private async list(query: URLSearchParams): Promise<MachineAction[]> {
    const raw = query.get('$top');
    const top = raw === null ? DEFAULT_TOP : Number(raw);
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP)
      throw new VendorError(400, `$top must be an integer from 1 to ${MAX_TOP}`);
    const out: MachineAction[] = [];
    for (const s of await this.d.engine.list({ limit: top, kind: 'machineaction' })) {
      const b = await this.d.engine.get(s.id);
      if (b && b.targets.length > 0) out.push(this.show(b));
    }
    return out;
  }

  /** A batch of kind `machineaction`, or 404 (a batch of `lr batch` is not a machine action). */
  private async action(id: string): Promise<BatchRecord> {
    const b = await this.d.engine.get(id);
    if (!b || b.kind !== 'machineaction' || b.targets.length === 0)
      throw new VendorError(404, `no machine action ${id}`);
    return b;
  }

  private show(b: BatchRecord): MachineAction {
    const deviceId = b.targets[0]?.deviceId;
    const hostname = deviceId ? this.d.store.getDevice(deviceId)?.hostname : undefined;
    const cancelComment = this.cancelComments.get(b.id);
    return machineActionOf(b, { ...(hostname ? { hostname } : {}), ...(cancelComment ? { cancelComment } : {}) });
  }

  /**
   * A one-time link to command `index`'s result. Any user may take one, as any user reads a batch's
   * files (GET /api/v1/batches/{id}/files/…) and the command log.
   */
  private async downloadLink(id: string, index: number): Promise<string> {
    const b = await this.action(id);
    const target = b.targets[0] as BatchRecord['targets'][number];
    const step = target.steps.find((s) => s.index === index);
    if (!step)
      throw new VendorError(
        400,
        `index must be from 0 to ${target.steps.length - 1} (the action has ${target.steps.length} command(s))`,
        'InvalidInput',
      );
    const type = vendorCommandOf(step.line)?.type;
    if (!type) throw new VendorError(400, `command ${index} is not a live response command`);
    const ran =
      step.status === 'completed' || (type === 'RunScript' && step.status === 'failed' && step.commandId !== undefined);
    if (!ran) {
      const state = commandStateOf(step, target.steps, target);
      throw new VendorError(
        400,
        `command ${index} (${type}) has no result: ${state.errors[0] ?? `it is ${state.commandStatus}`}`,
        'InvalidInput',
      );
    }
    if (type === 'GetFile' && !(await this.d.engine.file(b.id, target.deviceId, index)))
      throw new VendorError(404, `command ${index} (GetFile) kept no file`);
    const token = this.links.issue({ actionId: b.id, deviceId: target.deviceId, step: index, type });
    return `${httpsBase(this.d.publicUrl)}/api/v1/results/${token}`;
  }

  /** `GET /api/v1/results/{token}`, before any API token is looked at; true when handled. */
  async openRoute(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = new URL(req.url ?? '/', 'https://service').pathname;
    const m = RESULT.exec(path);
    if (!m || req.method !== 'GET') return false;
    const r = this.links.redeem(m[1] as string);
    if (!r.ok) {
      sendJson(res, r.status, { error: r.error });
      return true;
    }
    try {
      await this.serve(res, r.grant);
    } catch (e) {
      if (!res.headersSent) sendJson(res, 404, { error: describeError(e) });
      else res.destroy();
    }
    return true;
  }

  private async serve(res: ServerResponse, g: ResultGrant): Promise<void> {
    const { engine } = this.d;
    if (g.type === 'GetFile') {
      const f = await engine.file(g.actionId, g.deviceId, g.step);
      if (!f) throw new Error(`the file of command ${g.step} is not kept any more`);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(f.size),
        'content-disposition': contentDisposition(f.name),
        'x-content-sha256': f.sha256,
        'cache-control': 'no-store',
      });
      await pipeline(createReadStream(f.path), res);
      return;
    }
    const records = (await engine.results(g.actionId, { device: g.deviceId, step: g.step, limit: 100 })).rows
      .filter((r) => r.step === g.step)
      .map(withoutBatchColumns);
    if (g.type === 'PutFile') return sendJson(res, 200, records[0] ?? {});
    const b = await engine.get(g.actionId);
    const step = b?.targets[0]?.steps.find((s) => s.index === g.step);
    const script = step ? (vendorCommandOf(step.line)?.params.find((p) => p.key === 'ScriptName')?.value ?? '') : '';
    const exit = records.find((r) => typeof r.exitCode === 'number')?.exitCode as number | undefined;
    const text = (await engine.text(g.actionId, g.deviceId, g.step)) ?? '';
    const errors = step?.status === 'completed' ? '' : (step?.error ?? '');
    sendJson(res, 200, { script_name: script, exit_code: exit ?? null, script_output: text, script_errors: errors });
  }
}

/** The file's name for the download: a plain ASCII fallback and the exact name in UTF-8 (RFC 6266, RFC 5987). */
export function contentDisposition(name: string): string {
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${exact}`;
}

function withoutBatchColumns(r: Record<string, unknown>): Record<string, unknown> {
  const { device: _device, step: _step, ...rest } = r;
  return rest;
}
