/** The service's data folder: config.json, TLS material, the database and the admin profile. */
import { join } from 'node:path';
import { z } from 'zod';
import { MAX_TIME_LIMIT_MS } from '../shared/wire/command-signature.js';
import { readJsonFile } from '../node/files.js';

export const limitsSchema = z.object({
  maxSessionsPerTenant: z.number().int().positive().default(25),
  maxSessionsPerUser: z.number().int().positive().default(10),
  /** Idle timeout of a session; running commands and transfers count as activity. */
  idleTimeoutSec: z
    .number()
    .positive()
    .default(30 * 60),
  /** Time limit of ordinary commands (10 min) and of getfile/findfile/run (30 min); agents honour at most 24 h. */
  commandTimeoutSec: z
    .number()
    .positive()
    .max(MAX_TIME_LIMIT_MS / 1000)
    .default(10 * 60),
  longCommandTimeoutSec: z
    .number()
    .positive()
    .max(MAX_TIME_LIMIT_MS / 1000)
    .default(30 * 60),
  /** Largest file getfile downloads (3 GB as the reference). */
  getfileBytes: z
    .number()
    .int()
    .positive()
    .default(3 * 1024 ** 3),
  /** Command output kept in the command log per command (the full size and SHA-256 are always kept). */
  logOutputBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Largest file the script library accepts (refused while the upload streams). */
  libraryFileBytes: z
    .number()
    .int()
    .positive()
    .default(250 * 1024 * 1024),
  /**
   * Automation API, per API token: calls starting work (runliveresponse, POST /api/v1/batches, POST
   * /api/v1/devices/{device}/commands) per minute (the vendor's 10).
   */
  apiCallsPerMinute: z.number().int().positive().default(10),
  /** Automation API, per API token: machine action reads and result links per minute (the vendor's 100). */
  apiReadsPerMinute: z.number().int().positive().default(100),
  /** Machine actions Pending or InProgress at once on one machine (the vendor's 1: ActiveRequestAlreadyExists). */
  activeActionsPerMachine: z.number().int().positive().default(1),
});
export type Limits = z.infer<typeof limitsSchema>;

export const configSchema = z.object({
  listen: z.string().regex(/^[^\s]+:\d{1,5}$/, 'listen must be HOST:PORT'),
  /** The address agents and analysts use (written into bundles and profiles). */
  publicUrl: z.string().url(),
  limits: limitsSchema.default(limitsSchema.parse({})),
});
export type ServiceConfig = z.infer<typeof configSchema>;

export function dataPaths(dir: string) {
  return {
    config: join(dir, 'config.json'),
    db: join(dir, 'lr.db'),
    caCert: join(dir, 'tls', 'ca.pem'),
    caKey: join(dir, 'tls', 'ca.key'),
    cert: join(dir, 'tls', 'server.pem'),
    key: join(dir, 'tls', 'server.key'),
    adminProfile: join(dir, 'admin.profile.json'),
  };
}

export function loadConfig(dir: string): ServiceConfig {
  return readJsonFile(dataPaths(dir).config, configSchema, 'service config');
}

export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(i + 1));
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`invalid listen address ${listen} (expected HOST:PORT)`);
  return { host, port };
}
