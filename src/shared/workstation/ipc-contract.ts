/**
 * The one IPC contract between the workstation's renderer and its main-process services.
 *
 * Every request/response channel is listed in `ipcContract` with a zod schema for its request (checked by
 * the main side before any handler runs, see src/main/ipc/validated.ts) and one for its response (the type
 * the renderer receives). The same contract is carried by two transports that the renderer cannot tell
 * apart: Electron's ipcRenderer.invoke behind the preload's `window.lr`, and the browser shell's WebSocket
 * (frames defined at the bottom of this file).
 *
 * Pure TypeScript + zod: imported by main, preload and renderer, so no Node and no DOM here.
 */
// First: zod's configuration for CSP-restricted pages must precede every schema, protocol.ts's included.
import '../zod-config.js';
import { z } from 'zod';
import type { Role } from '../commands/catalog.js';
import { MAX_LINE_UTF16 } from '../commands/grammar.js';
import {
  CASE_STATUSES,
  caseTaskProgressSchema,
  caseViewSchema,
  evidencePreviewSchema,
  evidenceViewSchema,
  exportCaseResultSchema,
  importCaseResultSchema,
  MAX_PREVIEW_BYTES,
  noteViewSchema,
  PREVIEW_MODES,
  searchResultSchema,
  transcriptEntryViewSchema,
  transcriptPageSchema,
} from './case-types.js';
import { libraryRecordSchema, tenantSettingsSchema, uploadResultSchema } from '../wire/library-records.js';
import { batchCreateRequest, batchList, batchRecord, batchResults, MAX_BATCH_DEVICES } from '../wire/batch.js';
import {
  commandLogRecordSchema,
  commandLogSummarySchema,
  deviceRecordSchema,
  JOB_STATUSES,
  sessionInfo,
} from '../wire/protocol.js';

/** Every channel name starts with this prefix, so IPC traffic of ours is recognisable at a glance. */
export const IPC_CHANNEL_PREFIX = 'lr:';

/** Requests never carry more text than this in one string field unless a channel says otherwise. */
export const MAX_ECHO_TEXT = 10_000;

// ---------------------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------------------

/** How the workstation UI is hosted: inside Electron, or served to a system browser by the browser shell. */
export const hostModeSchema = z.enum(['electron', 'browser-shell']);
export type HostMode = z.infer<typeof hostModeSchema>;

const noArguments = z.strictObject({});

const sessionIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

/**
 * Longest command line passed to main: the wire's bound, so that a line over the grammar's limit in
 * characters still reaches the service, which refuses it in one line and records it in the command log.
 */
export const MAX_COMMAND_LINE = MAX_LINE_UTF16;
/** Library uploads travel renderer → main in chunks of this many bytes (base64 in the frame). */
export const UPLOAD_CHUNK_BYTES = 512 * 1024;
/** The service refuses larger library files (250 MB by default); main refuses them before any byte moves. */
export const MAX_LIBRARY_UPLOAD_BYTES = 250 * 1024 * 1024;

const roleSchema = z.enum(['basic', 'advanced', 'admin']);
// The catalog's Role and this enum must list the same roles: a compile error here when they drift.
const roleSchemaMatchesCatalog: [Role, z.infer<typeof roleSchema>] extends [z.infer<typeof roleSchema>, Role]
  ? true
  : never = true;
void roleSchemaMatchesCatalog;

export const workspaceModeSchema = z.enum(['standalone', 'remote']);
export type WorkspaceMode = z.infer<typeof workspaceModeSchema>;
export const workspaceStatusSchema = z.object({
  /**
   * 'starting' while the embedded service and agent come up or a profile connects; 'unreachable' when the
   * chosen service does not answer (the workstation retries in the background; cases, notes and evidence
   * stay fully usable offline).
   */
  state: z.enum(['starting', 'ready', 'failed', 'unreachable']),
  mode: workspaceModeSchema,
  /** One line, when state is 'failed'. */
  error: z.string().optional(),
  /** The service's address (wss://...). */
  serviceUrl: z.string().optional(),
  user: z.object({ name: z.string(), role: roleSchema, libraryManager: z.boolean() }).optional(),
  /** The app data folder (downloads/, saved/, exports/ live there). */
  dataDir: z.string(),
  /** Standalone: this machine's device id. */
  localDeviceId: z.string().optional(),
  /** Remote: the profile file in use. */
  profilePath: z.string().optional(),
});
export type WorkspaceStatus = z.infer<typeof workspaceStatusSchema>;

export const deviceViewSchema = deviceRecordSchema;
export type DeviceView = z.infer<typeof deviceViewSchema>;

export const sessionViewSchema = sessionInfo.extend({
  /** Command names this user may run on this device (completion, help). */
  commands: z.array(z.string()),
  /** The device's online state when the session was opened. */
  deviceOnline: z.boolean(),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

/** Ids of cases, notes, transcript entries and evidence items (made by main). */
const caseIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);
/** Longest note body the store accepts (characters). */
export const MAX_NOTE_CHARS = 200_000;
/** Case import uploads travel in chunks like library uploads; the zip may be large (evidence). */
export const MAX_CASE_IMPORT_BYTES = 64 * 1024 * 1024 * 1024;

const isoTime = z
  .string()
  .max(40)
  .regex(/^\d{4}-\d{2}-\d{2}T/, 'an ISO date-time');
export const logFilterSchema = z.strictObject({
  device: z.string().max(64).optional(),
  user: z.string().max(128).optional(),
  status: z.enum(JOB_STATUSES).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  /** Case-insensitive text in the command line, the error or the id. */
  text: z.string().max(500).optional(),
});
export type LogFilter = z.infer<typeof logFilterSchema>;
export const logQuerySchema = logFilterSchema.extend({
  offset: z.number().int().nonnegative().default(0),
  limit: z.number().int().positive().max(1000).default(200),
});
export type LogQuery = z.input<typeof logQuerySchema>;
export const logPageSchema = z.object({
  total: z.number(),
  offset: z.number(),
  items: z.array(commandLogSummarySchema),
});
export type LogPage = z.infer<typeof logPageSchema>;
export const logFacetsSchema = z.object({
  users: z.array(z.string()),
  devices: z.array(z.object({ id: z.string(), name: z.string() })),
});
export type LogFacets = z.infer<typeof logFacetsSchema>;

/**
 * A long call the renderer may cancel carries an id it made (e.g. crypto.randomUUID()); `lr:calls.cancel`
 * with that id aborts it in main, which stops the work and leaves nothing half-written.
 */
export const callIdSchema = z
  .string()
  .min(8)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

/** Batch ids as the service makes them. */
const batchIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);
/** The Batch page shows at most this many merged rows (the export has them all). */
export const MAX_BATCH_TABLE_ROWS = 20_000;
/** Most devices one "Run on selected" may name (the service's own bound). */
export const MAX_SELECTED_DEVICES = MAX_BATCH_DEVICES;

export const exportResultSchema = z.object({
  /** Where main wrote the file (undefined when the user cancelled the save dialog). */
  path: z.string().optional(),
  fileName: z.string(),
  count: z.number().int().nonnegative(),
  /** The browser shell returns the content for a download (bounded). */
  content: z.string().optional(),
});
export type ExportResult = z.infer<typeof exportResultSchema>;

export const completionSchema = z.object({
  replaceFrom: z.number().int().nonnegative(),
  candidates: z.array(z.string()),
  kind: z.enum(['command', 'flag', 'path', 'value', 'none']),
  /** Why a path could not be completed (one line), e.g. the folder does not exist. */
  problem: z.string().optional(),
});
export type CompletionView = z.infer<typeof completionSchema>;

/** Device groups and their members, for "select a group" on the Devices page (admins: the service's rule). */
export const deviceGroupsSchema = z.object({
  groups: z.array(z.object({ name: z.string(), devices: z.array(z.object({ id: z.string(), name: z.string() })) })),
  /** Why there are none to show (not an admin). */
  reason: z.string().optional(),
});
export type DeviceGroupsView = z.infer<typeof deviceGroupsSchema>;

/** What "Save to case" stored (or found already stored) for one batch. */
export const batchSavedSchema = z.object({
  caseId: z.string(),
  caseTitle: z.string(),
  /** False: the case already held this batch's results; nothing was added. */
  added: z.boolean(),
  evidence: z.array(
    z.object({ id: z.string(), name: z.string(), sha256: z.string(), size: z.number().int().nonnegative() }),
  ),
});
export type BatchSaved = z.infer<typeof batchSavedSchema>;

/** The analyst's display preferences (kept by main in the app data folder). */
export const preferencesSchema = z.object({
  /** `UTC` (default), `local` (the browser's zone), or an IANA zone name. */
  timeZone: z.string(),
});
export type Preferences = z.infer<typeof preferencesSchema>;

export const tenantSettingsViewSchema = z.object({
  /** Undefined when this user may not see them (not an admin): `reason` says why. */
  settings: tenantSettingsSchema.optional(),
  canEdit: z.boolean(),
  reason: z.string().optional(),
});
export type TenantSettingsView = z.infer<typeof tenantSettingsViewSchema>;

/** An agent file the service holds for new devices (GET /api/v1/agent-files). */
export const agentFileViewSchema = z.object({
  target: z.string(),
  name: z.string(),
  size: z.number(),
  sha256: z.string(),
});
export type AgentFileView = z.infer<typeof agentFileViewSchema>;

/** "Add a device" on the Devices page: whether this user may make an installer, and the agent files. */
export const installerViewSchema = z.object({
  canMake: z.boolean(),
  /** Why not, when canMake is false. */
  reason: z.string().optional(),
  files: z.array(agentFileViewSchema),
});
export type InstallerView = z.infer<typeof installerViewSchema>;

/** An installer script made by the service (one-time token inside): saved by the page, shown once. */
export const madeInstallerViewSchema = z.object({
  os: z.enum(['linux', 'windows']),
  fileName: z.string(),
  text: z.string(),
  /** What to run on the device once the file is saved there. */
  command: z.string(),
  expiresAt: z.string(),
  files: z.array(agentFileViewSchema),
});
export type MadeInstallerView = z.infer<typeof madeInstallerViewSchema>;

export const libraryViewSchema = z.object({
  /** Undefined when this user may not see the library (basic role): `reason` says why. */
  files: z.array(libraryRecordSchema).optional(),
  /** May upload and delete (the library-manager permission). */
  canManage: z.boolean(),
  reason: z.string().optional(),
});
export type LibraryView = z.infer<typeof libraryViewSchema>;

/**
 * One structured record in console output: a plain JSON object, checked for shape only (like the wire's
 * records: thousands arrive at once, and a per-key walk would cost more than the command).
 */
const consoleRecordSchema = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'expected a JSON object',
);
const jobStatusSchema = z.enum(JOB_STATUSES);

// Console output: what main pushes for a session, rendered by the renderer into its xterm.
export const consoleItemSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('started'),
    commandId: z.string(),
    name: z.string(),
    background: z.boolean(),
    output: z.enum(['json', 'table']).optional(),
    tableFields: z.array(z.string()).optional(),
    redirect: z.string().optional(),
  }),
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('records'), records: z.array(consoleRecordSchema) }),
  z.object({
    type: z.literal('progress'),
    bytes: z.number(),
    total: z.number(),
    rate: z.number(),
    eta: z.number().optional(),
  }),
  z.object({ type: z.literal('notice'), text: z.string(), tone: z.enum(['info', 'warn', 'error']) }),
  /** The foreground command ended, or went to the background: the prompt comes back. */
  z.object({
    type: z.literal('end'),
    commandId: z.string().optional(),
    status: jobStatusSchema,
    error: z.string().optional(),
    durationMs: z.number(),
    cwd: z.string().optional(),
    background: z.boolean(),
  }),
  /** A background job ended. */
  z.object({
    type: z.literal('bgend'),
    commandId: z.string(),
    status: jobStatusSchema,
    error: z.string().optional(),
    durationMs: z.number(),
  }),
  /**
   * A y/N before a response action (main's console-confirm.ts): `lines` describe the target, `prompt` replaces the
   * prompt until answered.
   */
  z.object({ type: z.literal('question'), lines: z.array(z.string()), prompt: z.string() }),
  z.object({ type: z.literal('device'), online: z.boolean() }),
  z.object({ type: z.literal('closed'), reason: z.string() }),
]);
export type ConsoleItem = z.infer<typeof consoleItemSchema>;

/** What a console showed recently (kept by main), rendered again by a reloaded page. */
export const replayEntrySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('input'), cwd: z.string(), line: z.string() }),
  z.object({ type: z.literal('output'), items: z.array(consoleItemSchema) }),
]);
export type ReplayEntry = z.infer<typeof replayEntrySchema>;

/** An open session as a reloaded page gets it back: with its recent output and whether a command runs. */
export const restoredSessionViewSchema = sessionViewSchema.extend({
  replay: z.array(replayEntrySchema),
  /** Older output was dropped to keep the replay bounded. */
  replayTrimmed: z.boolean(),
  running: z.boolean(),
});
export type RestoredSessionView = z.infer<typeof restoredSessionViewSchema>;

// ---------------------------------------------------------------------------------------------------------
// Request/response channels
// ---------------------------------------------------------------------------------------------------------

/** The shape every contract entry has. */
export interface ChannelSpec {
  readonly request: z.ZodType;
  readonly response: z.ZodType;
}

export const ipcContract = {
  /** Which build, in which host, on which OS: shown in the status line. */
  'lr:app.info': {
    request: noArguments,
    response: z.object({
      version: z.string(),
      mode: hostModeSchema,
      platform: z.string(),
    }),
  },

  /**
   * Returns its input. Proves the typed round trip through either transport. `handled` counts the echo
   * calls the handler has run since start, which lets tests show that a rejected call never reached it.
   */
  'lr:app.echo': {
    request: z.strictObject({ text: z.string().max(MAX_ECHO_TEXT) }),
    response: z.object({ text: z.string(), handled: z.number().int().nonnegative() }),
  },

  /**
   * Cancels a long call still running (one whose request carries a `callId`). `cancelled` is false when
   * no call with that id runs any more (it ended, or never started). The cancelled call answers with a
   * handler-failed error saying it was cancelled.
   */
  'lr:calls.cancel': {
    request: z.strictObject({ callId: callIdSchema }),
    response: z.object({ cancelled: z.boolean() }),
  },

  // --- workspace: which service the workstation talks to (standalone/embedded, or a team's service) ---

  /** Where the workstation is connected, as whom. */
  'lr:workspace.status': { request: noArguments, response: workspaceStatusSchema },
  /** "Connect to a service": a profile file (JSON, see src/node/profile.ts) on this machine. */
  'lr:workspace.connect': {
    request: z.strictObject({ profilePath: z.string().min(1).max(4096) }),
    response: workspaceStatusSchema,
  },
  /** Back to the embedded service (the default). */
  'lr:workspace.standalone': { request: noArguments, response: workspaceStatusSchema },

  // --- the analyst's display preferences ---

  'lr:prefs.get': { request: noArguments, response: preferencesSchema },
  /** `timeZone`: UTC, local, or an IANA name (checked again by main with Intl). */
  'lr:prefs.set': {
    request: z.strictObject({
      timeZone: z
        .string()
        .min(1)
        .max(64)
        .regex(/^[A-Za-z0-9_+\-/]+$/)
        .optional(),
    }),
    response: preferencesSchema,
  },

  // --- devices ---

  /** Groups with their members (admins only, the service decides; others get a reason). */
  'lr:devices.groups': { request: noArguments, response: deviceGroupsSchema },
  'lr:devices.list': { request: noArguments, response: z.array(deviceViewSchema) },

  // --- console sessions (one per device tab) ---

  /** Opens a live response session on a device (id or name). */
  'lr:sessions.open': { request: z.strictObject({ device: z.string().min(1).max(128) }), response: sessionViewSchema },
  /** Sessions this workstation has open, with their recent output (after a reload the tabs come back from here). */
  'lr:sessions.list': { request: noArguments, response: z.array(restoredSessionViewSchema) },
  /** Ends a session on the service (its running commands are cancelled on the agent). */
  'lr:sessions.close': {
    request: z.strictObject({ sessionId: sessionIdSchema }),
    response: z.object({ closed: z.boolean() }),
  },
  /**
   * Runs one command line in a session. Answers at once; the output, the end and the prompt's new
   * directory arrive as `console.output` events.
   */
  'lr:sessions.run': {
    request: z.strictObject({ sessionId: sessionIdSchema, line: z.string().min(1).max(MAX_COMMAND_LINE) }),
    response: z.object({ accepted: z.literal(true) }),
  },
  /** Ctrl+C: cancels the foreground command on the agent. */
  'lr:sessions.cancel': {
    request: z.strictObject({ sessionId: sessionIdSchema }),
    response: z.object({ cancelled: z.boolean() }),
  },
  /** Ctrl+Z: the foreground command goes on in the background. */
  'lr:sessions.detach': {
    request: z.strictObject({ sessionId: sessionIdSchema }),
    response: z.object({ detached: z.boolean() }),
  },
  /** Flow control: the renderer has written (xterm parsed) this much of a session's output. */
  'lr:sessions.ack': {
    request: z.strictObject({ sessionId: sessionIdSchema, chars: z.number().int().positive().max(1_000_000_000) }),
    response: z.object({ unacked: z.number() }),
  },
  /**
   * Tab completion of commands, flags, values and remote paths. Remote paths are listed by running
   * `dir <folder> -output json` in the session: those listings appear in the command log.
   */
  'lr:sessions.complete': {
    request: z.strictObject({
      sessionId: sessionIdSchema,
      line: z.string().max(MAX_COMMAND_LINE),
      cursor: z.number().int().nonnegative(),
    }),
    response: completionSchema,
  },

  // --- command log ---

  'lr:log.query': { request: logQuerySchema, response: logPageSchema },
  /** One command with its output. */
  'lr:log.get': { request: z.strictObject({ id: z.string().min(1).max(64) }), response: commandLogRecordSchema },
  /** Users and devices that appear in the log (for the filter menus). */
  'lr:log.facets': { request: noArguments, response: logFacetsSchema },
  /**
   * Writes every command matching the filters as CSV or JSON. Electron asks where (a save dialog); the
   * browser shell writes into the app data folder's exports/ and also returns the content for a download.
   */
  'lr:log.export': {
    request: z.strictObject({ format: z.enum(['csv', 'json']), filter: logFilterSchema }),
    response: exportResultSchema,
  },

  // --- batches: one command line over many devices (the service runs them; see src/shared/wire/batch.ts) ---

  /** Starts a batch (the service checks the line, the role and the devices, and refuses in one line). */
  'lr:batches.create': { request: batchCreateRequest, response: batchRecord },
  /** Newest first. */
  'lr:batches.list': {
    request: z.strictObject({ limit: z.number().int().positive().max(500).default(100) }),
    response: batchList,
  },
  'lr:batches.get': { request: z.strictObject({ id: batchIdSchema }), response: batchRecord },
  'lr:batches.cancel': { request: z.strictObject({ id: batchIdSchema }), response: batchRecord },
  /** The merged table (every device's records, a `device` column), optionally one device's, at most `limit` rows. */
  'lr:batches.results': {
    request: z.strictObject({
      id: batchIdSchema,
      device: z.string().min(1).max(128).optional(),
      limit: z.number().int().positive().max(MAX_BATCH_TABLE_ROWS).default(MAX_BATCH_TABLE_ROWS),
    }),
    response: batchResults,
  },
  /** The whole merged table as CSV or JSON, written like the log's exports (and returned for a download). */
  'lr:batches.export': {
    request: z.strictObject({
      id: batchIdSchema,
      format: z.enum(['csv', 'json']),
      device: z.string().min(1).max(128).optional(),
    }),
    response: exportResultSchema,
  },
  /**
   * The merged results (CSV and JSON) and every pulled file (SHA-256 checked) as evidence of the active case,
   * with a note naming the batch. Once per batch and case: a second call says where it already is.
   */
  'lr:batches.saveToCase': {
    request: z.strictObject({ id: batchIdSchema, callId: callIdSchema.optional() }),
    response: batchSavedSchema,
  },
  /** Tab completion in "Run on selected": commands, flags, values and library names (no device to list paths on). */
  'lr:batches.complete': {
    request: z.strictObject({ line: z.string().max(MAX_COMMAND_LINE), cursor: z.number().int().nonnegative() }),
    response: completionSchema,
  },

  // --- script library ---

  'lr:library.list': { request: noArguments, response: libraryViewSchema },
  /** Starts an upload: the bytes follow in chunks (lr:library.uploadChunk), then lr:library.uploadEnd. */
  'lr:library.uploadBegin': {
    request: z.strictObject({
      name: z.string().min(1).max(255),
      size: z.number().int().nonnegative().max(MAX_LIBRARY_UPLOAD_BYTES),
      description: z.string().max(4096).default(''),
      parametersDescription: z.string().max(4096).default(''),
      parametersExample: z.string().max(4096).default(''),
      overwrite: z.boolean().default(false),
    }),
    response: z.object({ uploadId: z.string() }),
  },
  'lr:library.uploadChunk': {
    request: z.strictObject({
      uploadId: z.string().min(1).max(64),
      offset: z.number().int().nonnegative(),
      /** Base64, at most UPLOAD_CHUNK_BYTES decoded. */
      data: z.string().max(Math.ceil(UPLOAD_CHUNK_BYTES / 3) * 4),
    }),
    response: z.object({ received: z.number() }),
  },
  /** Sends the whole file to the service; answers with the stored record. */
  'lr:library.uploadEnd': {
    request: z.strictObject({ uploadId: z.string().min(1).max(64) }),
    response: uploadResultSchema,
  },
  'lr:library.uploadAbort': {
    request: z.strictObject({ uploadId: z.string().min(1).max(64) }),
    response: z.object({ aborted: z.boolean() }),
  },
  'lr:library.delete': {
    request: z.strictObject({ name: z.string().min(1).max(255) }),
    response: z.object({ deleted: z.literal(true) }),
  },

  // --- tenant settings (admins; the service enforces it, main only says why early) ---

  'lr:tenant.get': { request: noArguments, response: tenantSettingsViewSchema },
  'lr:tenant.update': {
    request: z.strictObject({
      liveResponse: z.boolean().optional(),
      liveResponseServers: z.boolean().optional(),
      unsignedScripts: z.boolean().optional(),
      /** Limits by name (see `lr settings get`): positive numbers; the service checks names and integers. */
      limits: z
        .record(z.string().regex(/^[A-Za-z]{1,64}$/), z.number().positive().max(Number.MAX_SAFE_INTEGER))
        .optional(),
    }),
    response: tenantSettingsViewSchema,
  },

  // --- "Add a device": installer scripts (admins; the service enforces it, main only says why early) ---

  'lr:installers.view': { request: noArguments, response: installerViewSchema },
  'lr:installers.make': {
    request: z.strictObject({ os: z.enum(['linux', 'windows']) }),
    response: madeInstallerViewSchema,
  },

  // --- cases, notes, transcripts, evidence (local to this workstation: they work with no service) ---

  'lr:cases.list': { request: noArguments, response: z.array(caseViewSchema) },
  /** A new case, which becomes the active one. */
  'lr:cases.create': {
    request: z.strictObject({ title: z.string().trim().min(1).max(200) }),
    response: caseViewSchema,
  },
  'lr:cases.update': {
    request: z.strictObject({
      id: caseIdSchema,
      title: z.string().trim().min(1).max(200).optional(),
      status: z.enum(CASE_STATUSES).optional(),
    }),
    response: caseViewSchema,
  },
  /** New evidence and transcripts go to the active case. */
  'lr:cases.activate': { request: z.strictObject({ id: caseIdSchema }), response: caseViewSchema },
  'lr:cases.notes': { request: z.strictObject({ caseId: caseIdSchema }), response: z.array(noteViewSchema) },
  'lr:cases.transcripts': {
    request: z.strictObject({
      caseId: caseIdSchema,
      offset: z.number().int().nonnegative().default(0),
      limit: z.number().int().positive().max(1000).default(200),
    }),
    response: transcriptPageSchema,
  },
  'lr:cases.evidence': { request: z.strictObject({ caseId: caseIdSchema }), response: z.array(evidenceViewSchema) },
  /** Writes the case as a zip (manifest.json, notes, transcripts, evidence) into the app data folder's exports/. */
  'lr:cases.export': {
    request: z.strictObject({ id: caseIdSchema, callId: callIdSchema.optional() }),
    response: exportCaseResultSchema,
  },
  /** Starts the import of a case zip: its bytes follow in chunks (like library uploads), then lr:cases.importEnd. */
  'lr:cases.importBegin': {
    request: z.strictObject({
      name: z.string().min(1).max(255),
      size: z.number().int().positive().max(MAX_CASE_IMPORT_BYTES),
    }),
    response: z.object({ uploadId: z.string() }),
  },
  'lr:cases.importChunk': {
    request: z.strictObject({
      uploadId: z.string().min(1).max(64),
      offset: z.number().int().nonnegative(),
      data: z.string().max(Math.ceil(UPLOAD_CHUNK_BYTES / 3) * 4),
    }),
    response: z.object({ received: z.number() }),
  },
  /** Verifies every member against the manifest; adds the case only when all verify. */
  'lr:cases.importEnd': {
    request: z.strictObject({ uploadId: z.string().min(1).max(64) }),
    response: importCaseResultSchema,
  },
  'lr:cases.importAbort': {
    request: z.strictObject({ uploadId: z.string().min(1).max(64) }),
    response: z.object({ aborted: z.boolean() }),
  },

  'lr:notes.create': {
    request: z.strictObject({
      caseId: caseIdSchema,
      title: z.string().max(200).default(''),
      body: z.string().max(MAX_NOTE_CHARS).default(''),
      commandId: z.string().min(1).max(64).optional(),
      evidenceId: caseIdSchema.optional(),
    }),
    response: noteViewSchema,
  },
  /** Autosave: the whole note each time (the renderer saves at most ~300 ms after the last keystroke). */
  'lr:notes.save': {
    request: z.strictObject({
      id: caseIdSchema,
      title: z.string().max(200),
      body: z.string().max(MAX_NOTE_CHARS),
      /** null removes the link. */
      commandId: z.string().min(1).max(64).nullable().optional(),
    }),
    response: z.object({ id: z.string(), updatedAt: z.string() }),
  },
  'lr:notes.delete': { request: z.strictObject({ id: caseIdSchema }), response: z.object({ deleted: z.boolean() }) },

  'lr:transcripts.get': { request: z.strictObject({ id: caseIdSchema }), response: transcriptEntryViewSchema },
  /** The transcript entry of a command (a note's link opens it). */
  'lr:transcripts.byCommand': {
    request: z.strictObject({ commandId: z.string().min(1).max(64) }),
    response: transcriptEntryViewSchema,
  },

  'lr:evidence.get': { request: z.strictObject({ id: caseIdSchema }), response: evidenceViewSchema },
  /**
   * A range of the file, read from disk and rendered as text, hex or strings; never opened otherwise.
   * Strings scan on from `offset` (bounded per call: see src/main/cases/preview.ts), with a minimum run
   * length and an optional filter.
   */
  'lr:evidence.preview': {
    request: z.strictObject({
      id: caseIdSchema,
      mode: z.enum(PREVIEW_MODES),
      offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
      length: z.number().int().positive().max(MAX_PREVIEW_BYTES).default(4096),
      minLength: z.number().int().min(2).max(64).optional(),
      filter: z.string().max(200).optional(),
    }),
    response: evidencePreviewSchema,
  },
  /** Hashes the stored file again; a mismatch marks it tampered. Progress as `cases.progress` events. */
  'lr:evidence.verify': { request: z.strictObject({ id: caseIdSchema }), response: evidenceViewSchema },

  /** Full-text search over notes and transcripts (all cases, or one). */
  'lr:search': {
    request: z.strictObject({
      text: z.string().trim().min(1).max(500),
      caseId: caseIdSchema.optional(),
      limit: z.number().int().positive().max(500).default(50),
    }),
    response: searchResultSchema,
  },
} as const satisfies Record<`${typeof IPC_CHANNEL_PREFIX}${string}`, ChannelSpec>;

export type IpcContract = typeof ipcContract;
export type IpcChannel = keyof IpcContract;
/** What the caller passes (before zod defaults/transforms). */
export type IpcRequest<C extends IpcChannel> = z.input<IpcContract[C]['request']>;
/** What the handler receives (after parsing). */
export type IpcParsedRequest<C extends IpcChannel> = z.output<IpcContract[C]['request']>;
export type IpcResponse<C extends IpcChannel> = z.output<IpcContract[C]['response']>;

export const ipcChannels = Object.keys(ipcContract) as readonly IpcChannel[];

export function isIpcChannel(value: unknown): value is IpcChannel {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ipcContract, value);
}

// ---------------------------------------------------------------------------------------------------------
// Results: every call resolves to one of these, never rejects with a transport-specific error
// ---------------------------------------------------------------------------------------------------------

export type IpcErrorCode =
  | 'unknown-channel' // not in ipcContract
  | 'untrusted-sender' // wrong frame/origin (Electron) or unauthenticated socket (browser shell)
  | 'invalid-payload' // the request schema refused it; the handler did not run
  | 'handler-failed' // the handler threw
  | 'invalid-response' // the handler's answer did not match the response schema (a bug in main)
  | 'bad-frame' // browser shell: not JSON, too large, or not a {id, channel, payload} object
  | 'disconnected' // the transport went away (or never came up) before the answer arrived
  | 'timeout'; // no answer in time

export interface IpcError {
  readonly code: IpcErrorCode;
  /** One line, prefixed with the channel when there is one: `lr:app.echo: invalid payload: text: ...`. */
  readonly message: string;
}

export type IpcResult<C extends IpcChannel> =
  { readonly ok: true; readonly result: IpcResponse<C> } | { readonly ok: false; readonly error: IpcError };

// ---------------------------------------------------------------------------------------------------------
// Events: main → renderer pushes, all on one channel, discriminated by `type`
// ---------------------------------------------------------------------------------------------------------

export const IPC_EVENT_CHANNEL = 'lr:event';

export const lrEventSchema = z.discriminatedUnion('type', [
  /** Sent once when a renderer connects: says the push path works. */
  z.object({ type: z.literal('hello'), mode: hostModeSchema }),
  /** The connection changed (standalone ready, connected to another service, failed). */
  z.object({ type: z.literal('workspace.changed'), status: workspaceStatusSchema }),
  /** The device list changed (presence, last seen, isolation, a new device). */
  z.object({ type: z.literal('devices.changed'), devices: z.array(deviceViewSchema) }),
  /**
   * A batch of one session's console output. `weight` is what the renderer acknowledges (lr:sessions.ack)
   * once xterm has written it: main forwards no more while ~100 000 are unacknowledged. The items are only
   * checked to be an array here (they can be megabytes of records); the renderer treats them as data.
   */
  z.object({
    type: z.literal('console.output'),
    sessionId: z.string(),
    weight: z.number().int().nonnegative(),
    items: z.custom<ConsoleItem[]>(Array.isArray),
  }),
  /** A library upload's progress towards the service. */
  z.object({ type: z.literal('library.progress'), uploadId: z.string(), sent: z.number(), total: z.number() }),
  /** A case's content changed (new evidence or transcript from a console, an import...). */
  z.object({ type: z.literal('cases.changed'), caseId: z.string().optional() }),
  /** Long case work (verify, export, import) moving on. */
  z.object({ type: z.literal('cases.progress'), progress: caseTaskProgressSchema }),
]);
export type LrEvent = z.infer<typeof lrEventSchema>;
export type LrEventListener = (event: LrEvent) => void;

// ---------------------------------------------------------------------------------------------------------
// The API object the renderer sees (window.lr in Electron, the WebSocket transport in the browser shell)
// ---------------------------------------------------------------------------------------------------------

export interface LrApi {
  invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResult<C>>;
  /** Subscribes to pushed events; returns the unsubscribe function. */
  onEvent(listener: LrEventListener): () => void;
}

// ---------------------------------------------------------------------------------------------------------
// Browser shell wire format (WebSocket text frames, JSON)
// ---------------------------------------------------------------------------------------------------------

/** Larger frames are answered with a `bad-frame` error and otherwise ignored. */
export const MAX_SOCKET_FRAME_BYTES = 1024 * 1024;

export const socketRequestIdSchema = z.union([z.number().int().nonnegative(), z.string().min(1).max(64)]);
export type SocketRequestId = z.infer<typeof socketRequestIdSchema>;

/** Renderer → shell. `payload` is checked later, per channel, by the validated wrapper. */
export const socketRequestFrameSchema = z.object({
  id: socketRequestIdSchema,
  channel: z.string().max(128),
  payload: z.unknown(),
});
export type SocketRequestFrame = z.infer<typeof socketRequestFrameSchema>;

/** Shell → renderer: an answer (id is null when the request was too broken to carry one) or a push. */
export type SocketServerFrame =
  | { readonly id: SocketRequestId | null; readonly ok: true; readonly result: unknown }
  | { readonly id: SocketRequestId | null; readonly ok: false; readonly error: IpcError }
  | { readonly event: typeof IPC_EVENT_CHANNEL; readonly payload: LrEvent };
