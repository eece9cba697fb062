/**
 * The vendor-shaped machine actions (`POST /api/v1/machines/{id}/runliveresponse` and
 * `/api/v1/machineactions…`): the vendor's request body, its translation into our console command lines
 * (one batch of kind `machineaction` on one device), and a batch record shown as the vendor's machine
 * action. Pure data and functions; the routes are in machine-action-routes.ts.
 */
import { z } from 'zod';
import { GrammarError, MAX_LINE_LENGTH, parseLine, quoteArg } from '../../shared/commands/grammar.js';
import {
  MAX_BATCH_STEPS,
  type BatchRecord,
  type BatchStepRecord,
  type BatchTargetRecord,
} from '../../shared/wire/batch.js';

/** The command types of the vendor's live response API and the parameter keys each takes. */
export const LIVE_RESPONSE_TYPES = ['RunScript', 'GetFile', 'PutFile'] as const;
export type LiveResponseType = (typeof LIVE_RESPONSE_TYPES)[number];
const KEYS = { RunScript: ['ScriptName', 'Args'], GetFile: ['Path'], PutFile: ['FileName'] } as const;
const REQUIRED: Record<LiveResponseType, string> = { RunScript: 'ScriptName', GetFile: 'Path', PutFile: 'FileName' };
const CONSOLE_COMMAND: Record<LiveResponseType, string> = { RunScript: 'run', GetFile: 'getfile', PutFile: 'putfile' };

const value = z
  .string()
  .min(1)
  .max(MAX_LINE_LENGTH / 2);
const param = <K extends readonly [string, ...string[]]>(keys: K) => z.object({ key: z.enum(keys), value }).strict();
const commandOf = <T extends LiveResponseType>(type: T) =>
  z.object({ type: z.literal(type), params: z.array(param(KEYS[type])).min(1).max(KEYS[type].length) }).strict();

/** One vendor command: `{"type":"GetFile","params":[{"key":"Path","value":"/etc/hosts"}]}`. */
export const liveResponseCommand = z
  .discriminatedUnion('type', [commandOf('RunScript'), commandOf('GetFile'), commandOf('PutFile')])
  .superRefine((c, ctx) => {
    const keys = c.params.map((p) => p.key as string);
    const twice = keys.find((k, i) => keys.indexOf(k) !== i);
    if (twice) ctx.addIssue({ code: 'custom', path: ['params'], message: `${c.type}: ${twice} given twice` });
    if (!keys.includes(REQUIRED[c.type]))
      ctx.addIssue({ code: 'custom', path: ['params'], message: `${c.type} needs the ${REQUIRED[c.type]} parameter` });
  });
export type LiveResponseCommand = z.infer<typeof liveResponseCommand>;

/** The body of `POST /api/v1/machines/{id}/runliveresponse`, as the vendor's (strict: unknown keys are refused). */
export const runLiveResponseRequest = z
  .object({
    Commands: z.array(liveResponseCommand).min(1).max(MAX_BATCH_STEPS),
    Comment: z.string().max(1000).optional(),
  })
  .strict();
export type RunLiveResponseRequest = z.infer<typeof runLiveResponseRequest>;

/** The body of `POST /api/v1/machineactions/{id}/cancel`. */
export const cancelMachineActionRequest = z.object({ Comment: z.string().max(1000).optional() }).strict();

export const MACHINE_ACTION_STATUSES = [
  'Pending',
  'InProgress',
  'Succeeded',
  'Failed',
  'TimeOut',
  'Cancelled',
] as const;
export type MachineActionStatus = (typeof MACHINE_ACTION_STATUSES)[number];
export const COMMAND_STATUSES = ['Created', 'InProgress', 'Completed', 'Failed', 'Canceled'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export const machineActionCommand = z.object({
  index: z.number().int().nonnegative(),
  startTime: z.string().nullable(),
  endTime: z.string().nullable(),
  commandStatus: z.enum(COMMAND_STATUSES),
  errors: z.array(z.string()),
  command: z.object({
    type: z.enum(LIVE_RESPONSE_TYPES),
    params: z.array(z.object({ key: z.string(), value: z.string() })),
  }),
});
export type MachineActionCommand = z.infer<typeof machineActionCommand>;

/** A machine action as the vendor answers it (the fields an automation reads; see docs/api.md). */
export const machineAction = z.object({
  id: z.string(),
  type: z.literal('LiveResponse'),
  requestor: z.string(),
  requestorComment: z.string(),
  status: z.enum(MACHINE_ACTION_STATUSES),
  machineId: z.string(),
  computerDnsName: z.string(),
  creationDateTimeUtc: z.string(),
  lastUpdateDateTimeUtc: z.string(),
  cancellationRequestor: z.string().nullable(),
  cancellationComment: z.string().nullable(),
  cancellationDateTimeUtc: z.string().nullable(),
  errorHResult: z.number().int(),
  errors: z.array(z.string()),
  commands: z.array(machineActionCommand),
});
export type MachineAction = z.infer<typeof machineAction>;

export const machineActionList = z.object({ value: z.array(machineAction) });
export const downloadLink = z.object({ value: z.string() });
/** The vendor's error shape, used by the vendor routes. */
export const vendorError = z.object({
  error: z.object({ code: z.string(), message: z.string(), target: z.string().optional() }),
});
/** The result of a RunScript command, as the vendor's download link serves it. */
export const runScriptResult = z.object({
  script_name: z.string(),
  exit_code: z.number().int().nullable(),
  script_output: z.string(),
  script_errors: z.string(),
});

function paramValue(c: LiveResponseCommand, key: string): string | undefined {
  return c.params.find((p) => p.key === key)?.value;
}

/** The console command line of one vendor command (values quoted so the console reads them back unchanged). */
export function consoleLineOf(c: LiveResponseCommand): string {
  switch (c.type) {
    case 'RunScript': {
      const args = paramValue(c, 'Args');
      return `run ${quoteArg(paramValue(c, 'ScriptName') as string)}${args ? ` -parameters ${quoteArg(args)}` : ''}`;
    }
    case 'GetFile':
      return `getfile ${quoteArg(paramValue(c, 'Path') as string)}`;
    case 'PutFile':
      // The vendor's PutFile has no overwrite key: an existing file in the working folder fails the command.
      return `putfile ${quoteArg(paramValue(c, 'FileName') as string)}`;
  }
}

/**
 * The vendor command a console line came from (the batch keeps only the lines; this reads them back, so
 * a machine action shows its commands after a restart too). Null for a line no vendor command makes.
 */
export function vendorCommandOf(line: string): MachineActionCommand['command'] | null {
  let p;
  try {
    p = parseLine(line);
  } catch (e) {
    if (e instanceof GrammarError) return null;
    throw e;
  }
  const first = p.positionals[0];
  if (first === undefined || p.positionals.length !== 1) return null;
  const type = LIVE_RESPONSE_TYPES.find((t) => CONSOLE_COMMAND[t] === p.name);
  if (!type) return null;
  const params = [{ key: REQUIRED[type], value: first }];
  if (type === 'RunScript' && typeof p.named.parameters === 'string')
    params.push({ key: 'Args', value: p.named.parameters });
  return { type, params };
}

/** The machine action's status from its one device's work. */
export function actionStatusOf(t: BatchTargetRecord): MachineActionStatus {
  switch (t.status) {
    case 'queued':
      return 'Pending';
    case 'running':
      return 'InProgress';
    case 'completed':
      return 'Succeeded';
    case 'cancelled':
      return 'Cancelled';
    case 'offline-expired':
      return 'TimeOut';
    case 'failed':
    case 'refused':
      return 'Failed';
  }
}

const FAILED_STEP: ReadonlySet<string> = new Set(['failed', 'refused', 'timed_out', 'cancelled']);

/**
 * One command's status and errors, as the vendor reports them. A command that never ran stays
 * `Created` (the vendor leaves the commands after a failing one in their initial state and fails the
 * action); its error says why it did not run.
 */
export function commandStateOf(
  step: BatchStepRecord,
  steps: readonly BatchStepRecord[],
  target: BatchTargetRecord,
): { commandStatus: CommandStatus; errors: string[] } {
  const errors = step.error ? [step.error] : [];
  switch (step.status) {
    case 'pending':
      return { commandStatus: 'Created', errors };
    case 'running':
      return { commandStatus: 'InProgress', errors };
    case 'completed':
      return { commandStatus: 'Completed', errors };
    case 'cancelled':
      return { commandStatus: 'Canceled', errors };
    case 'failed':
    case 'refused':
    case 'timed_out':
      return {
        commandStatus: 'Failed',
        errors: errors.length ? errors : [`command ${step.status === 'timed_out' ? 'timed out' : step.status}`],
      };
    case 'not-run': {
      if (target.status === 'cancelled')
        return { commandStatus: 'Canceled', errors: ['not run: the action was cancelled'] };
      const failed = steps.find((s) => s.index < step.index && FAILED_STEP.has(s.status));
      if (failed)
        return {
          commandStatus: 'Created',
          errors: [
            `not run: command ${failed.index} (${vendorCommandOf(failed.line)?.type ?? failed.line}) ${failed.status === 'timed_out' ? 'timed out' : failed.status}`,
          ],
        };
      if (target.status === 'offline-expired')
        return {
          commandStatus: 'Created',
          errors: ['not run: the machine did not come online before the action expired'],
        };
      if (target.status === 'failed' || target.status === 'refused')
        return { commandStatus: 'Created', errors: [`not run: ${target.note ?? `the action ${target.status}`}`] };
      return { commandStatus: 'Created', errors };
    }
  }
}

export interface ActionExtras {
  /** The device's host name (the vendor's computerDnsName); the device name when absent. */
  hostname?: string;
  /** The comment given with the cancel (kept by this node only). */
  cancelComment?: string;
}

const latest = (...times: (string | undefined | null)[]): string =>
  times.filter((t): t is string => !!t).reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));

/** A batch of kind `machineaction` (one device) as the vendor's machine action. */
export function machineActionOf(b: BatchRecord, extras: ActionExtras = {}): MachineAction {
  const target = b.targets[0];
  if (!target) throw new Error(`batch ${b.id} has no device`);
  const steps = target.steps;
  const commands = steps.map((s): MachineActionCommand => {
    const state = commandStateOf(s, steps, target);
    return {
      index: s.index,
      startTime: s.startedAt ?? null,
      endTime: s.endedAt ?? null,
      ...state,
      command: vendorCommandOf(s.line) ?? { type: 'RunScript', params: [{ key: 'ScriptName', value: s.line }] },
    };
  });
  const status = actionStatusOf(target);
  // Why it failed, with the vendor's command index (the engine's note counts steps from 1).
  const failedCommand = commands.find((c) => c.commandStatus === 'Failed');
  const why = failedCommand
    ? `command ${failedCommand.index} (${failedCommand.command.type}) ${steps[failedCommand.index]?.status === 'refused' ? 'refused' : 'failed'}: ${failedCommand.errors[0] ?? ''}`
    : (target.note ?? `the action ${target.status}`);
  const errors = status === 'Failed' || status === 'TimeOut' ? [why] : [];
  const cancelled = status === 'Cancelled';
  return {
    id: b.id,
    type: 'LiveResponse',
    requestor: b.createdBy,
    requestorComment: b.comment ?? '',
    status,
    machineId: target.deviceId,
    computerDnsName: extras.hostname ?? target.deviceName,
    creationDateTimeUtc: b.createdAt,
    lastUpdateDateTimeUtc: latest(
      b.createdAt,
      b.endedAt,
      target.startedAt,
      target.endedAt,
      ...steps.flatMap((s) => [s.startedAt, s.endedAt]),
    ),
    cancellationRequestor: cancelled ? (b.cancelledBy ?? null) : null,
    cancellationComment: cancelled ? (extras.cancelComment ?? null) : null,
    cancellationDateTimeUtc: cancelled ? (b.endedAt ?? target.endedAt ?? null) : null,
    errorHResult: status === 'Failed' || status === 'TimeOut' ? -2147467259 : 0,
    errors,
    commands,
  };
}
