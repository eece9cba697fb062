/**
 * The agent's own service in the Windows service control manager (SCM), through advapi32: create it with
 * its recovery actions, start, stop, delete, query. Every handle is closed in a finally.
 */
import { ffi, lastError, win32, Win32Error } from '../platform/windows/ffi.js';
import {
  FAILURE_RESET_SECONDS,
  RESTART_DELAYS_MS,
  SERVICE_DESCRIPTION,
  SERVICE_DISPLAY_NAME,
  SERVICE_NAME,
} from './service-config.js';

const SC_MANAGER_CONNECT = 0x1;
const SC_MANAGER_CREATE_SERVICE = 0x2;
const SERVICE_QUERY_CONFIG = 0x1;
const SERVICE_CHANGE_CONFIG = 0x2;
const SERVICE_QUERY_STATUS = 0x4;
const SERVICE_START = 0x10;
const SERVICE_STOP = 0x20;
const DELETE = 0x10000;
const SERVICE_WIN32_OWN_PROCESS = 0x10;
const SERVICE_AUTO_START = 2;
const SERVICE_ERROR_NORMAL = 1;
const SERVICE_CONTROL_STOP = 1;
const SERVICE_CONFIG_DESCRIPTION = 1;
const SERVICE_CONFIG_FAILURE_ACTIONS = 2;
const SERVICE_CONFIG_FAILURE_ACTIONS_FLAG = 4;
const SC_ACTION_RESTART = 1;
const ERROR_SERVICE_DOES_NOT_EXIST = 1060;
const ERROR_SERVICE_NOT_ACTIVE = 1062;
const ERROR_INSUFFICIENT_BUFFER = 122;
const ERROR_INVALID_LEVEL = 124;
export const SERVICE_STOPPED = 1;

const START_TYPES: Readonly<Record<number, string>> = {
  0: 'boot',
  1: 'system',
  2: 'automatic',
  3: 'manual',
  4: 'disabled',
};

type Handle = unknown;
interface ScmApi {
  openScm(machine: null, db: null, access: number): Handle;
  create(
    scm: Handle,
    name: string,
    display: string,
    access: number,
    type: number,
    start: number,
    err: number,
    bin: string,
    group: null,
    tag: null,
    deps: null,
    account: string,
    password: null,
  ): Handle;
  open(scm: Handle, name: string, access: number): Handle;
  close(h: Handle): boolean;
  setDescription(svc: Handle, level: number, info: { description: string }): boolean;
  setFailureActions(svc: Handle, level: number, info: object): boolean;
  setFailureFlag(svc: Handle, level: number, info: { nonCrashFailures: number }): boolean;
  start(svc: Handle, argc: number, argv: null): boolean;
  control(svc: Handle, control: number, status: object[]): boolean;
  remove(svc: Handle): boolean;
  queryStatus(svc: Handle, level: number, out: Record<string, number>[], size: number, needed: number[]): boolean;
  queryConfig(svc: Handle, buf: Buffer | null, size: number, needed: number[]): boolean;
  types: { status: unknown; statusProcess: unknown; config: unknown };
}

let api: ScmApi | null = null;
function scm(): ScmApi {
  if (api) return api;
  const k = ffi();
  const lib = win32('advapi32.dll');
  const SERVICE_STATUS = k.struct('LR_SERVICE_STATUS', {
    type: 'uint32',
    state: 'uint32',
    controlsAccepted: 'uint32',
    win32ExitCode: 'uint32',
    serviceExitCode: 'uint32',
    checkPoint: 'uint32',
    waitHint: 'uint32',
  });
  const SERVICE_STATUS_PROCESS = k.struct('LR_SERVICE_STATUS_PROCESS', {
    type: 'uint32',
    state: 'uint32',
    controlsAccepted: 'uint32',
    win32ExitCode: 'uint32',
    serviceExitCode: 'uint32',
    checkPoint: 'uint32',
    waitHint: 'uint32',
    pid: 'uint32',
    flags: 'uint32',
  });
  const QUERY_SERVICE_CONFIGW = k.struct('LR_QUERY_SERVICE_CONFIGW', {
    type: 'uint32',
    start: 'uint32',
    errorControl: 'uint32',
    binaryPath: 'str16',
    group: 'str16',
    tag: 'uint32',
    dependencies: 'str16',
    account: 'str16',
    displayName: 'str16',
  });
  const SC_ACTION = k.struct('LR_SC_ACTION', { type: 'int', delay: 'uint32' });
  const FAILURE_ACTIONS = k.struct('LR_SERVICE_FAILURE_ACTIONSW', {
    resetPeriod: 'uint32',
    rebootMsg: 'str16',
    command: 'str16',
    count: 'uint32',
    actions: k.pointer(SC_ACTION),
  });
  const DESCRIPTION = k.struct('LR_SERVICE_DESCRIPTIONW', { description: 'str16' });
  const FAILURE_FLAG = k.struct('LR_SERVICE_FAILURE_ACTIONS_FLAG', { nonCrashFailures: 'int' });
  const f = (sig: string) => lib.func(sig) as never;
  const change = (type: unknown) =>
    lib.func('__stdcall', 'ChangeServiceConfig2W', 'bool', ['void *', 'uint32', k.pointer(type as never)]) as never;
  api = {
    openScm: f('void * __stdcall OpenSCManagerW(str16 machine, str16 db, uint32 access)'),
    create: f(
      'void * __stdcall CreateServiceW(void *scm, str16 name, str16 display, uint32 access, uint32 type, uint32 start, uint32 err, str16 bin, str16 group, void *tag, str16 deps, str16 account, str16 password)',
    ),
    open: f('void * __stdcall OpenServiceW(void *scm, str16 name, uint32 access)'),
    close: f('bool __stdcall CloseServiceHandle(void *h)'),
    setDescription: change(DESCRIPTION),
    setFailureActions: change(FAILURE_ACTIONS),
    setFailureFlag: change(FAILURE_FLAG),
    start: f('bool __stdcall StartServiceW(void *svc, uint32 argc, void *argv)'),
    control: lib.func('__stdcall', 'ControlService', 'bool', [
      'void *',
      'uint32',
      k.out(k.pointer(SERVICE_STATUS)),
    ]) as never,
    remove: f('bool __stdcall DeleteService(void *svc)'),
    queryStatus: lib.func('__stdcall', 'QueryServiceStatusEx', 'bool', [
      'void *',
      'int',
      k.out(k.pointer(SERVICE_STATUS_PROCESS)),
      'uint32',
      k.out(k.pointer('uint32')),
    ]) as never,
    queryConfig: lib.func('__stdcall', 'QueryServiceConfigW', 'bool', [
      'void *',
      'void *',
      'uint32',
      k.out(k.pointer('uint32')),
    ]) as never,
    types: { status: SERVICE_STATUS, statusProcess: SERVICE_STATUS_PROCESS, config: QUERY_SERVICE_CONFIGW },
  };
  return api;
}

function openManager(access: number): Handle {
  const h = scm().openScm(null, null, access);
  if (!h) throw new Win32Error('OpenSCManagerW', lastError());
  return h;
}

/** Runs `fn` with the agent's service opened with `access`; null (fn not run) when there is no such service. */
function withService<T>(access: number, fn: (svc: Handle) => T): T | null {
  const a = scm();
  const manager = openManager(SC_MANAGER_CONNECT);
  try {
    const svc = a.open(manager, SERVICE_NAME, access);
    if (!svc) {
      const code = lastError();
      if (code === ERROR_SERVICE_DOES_NOT_EXIST) return null;
      throw new Win32Error(`OpenServiceW(${SERVICE_NAME})`, code);
    }
    try {
      return fn(svc);
    } finally {
      a.close(svc);
    }
  } finally {
    a.close(manager);
  }
}

/**
 * Registers the agent's service: its own process, started at boot, as LocalSystem, restarted by the SCM
 * when it crashes or stops with an error. Returns notes on what this SCM could not be told.
 */
export function createAgentService(commandLine: string): string[] {
  const notes: string[] = [];
  const a = scm();
  const manager = openManager(SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
  try {
    const access = SERVICE_QUERY_CONFIG | SERVICE_CHANGE_CONFIG | SERVICE_QUERY_STATUS | SERVICE_START | DELETE;
    const svc = a.create(
      manager,
      SERVICE_NAME,
      SERVICE_DISPLAY_NAME,
      access,
      SERVICE_WIN32_OWN_PROCESS,
      SERVICE_AUTO_START,
      SERVICE_ERROR_NORMAL,
      commandLine,
      null,
      null,
      null,
      'LocalSystem',
      null,
    );
    if (!svc) throw new Win32Error(`CreateServiceW(${SERVICE_NAME})`, lastError());
    try {
      if (!a.setDescription(svc, SERVICE_CONFIG_DESCRIPTION, { description: SERVICE_DESCRIPTION }))
        throw new Win32Error('ChangeServiceConfig2W(description)', lastError());
      const actions = RESTART_DELAYS_MS.map((delay) => ({ type: SC_ACTION_RESTART, delay }));
      const failure = {
        resetPeriod: FAILURE_RESET_SECONDS,
        rebootMsg: null,
        command: null,
        count: actions.length,
        actions,
      };
      if (!a.setFailureActions(svc, SERVICE_CONFIG_FAILURE_ACTIONS, failure))
        throw new Win32Error('ChangeServiceConfig2W(failure actions)', lastError());
      // Also a stop with an error code (the agent could not start), not only a crash, counts as a failure.
      if (!a.setFailureFlag(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, { nonCrashFailures: 1 })) {
        const code = lastError();
        if (code !== ERROR_INVALID_LEVEL) throw new Win32Error('ChangeServiceConfig2W(failure flag)', code);
        notes.push(
          'this SCM does not know the failure-actions flag (Wine): only a crash restarts the agent, not a stop with an error',
        );
      }
    } catch (e) {
      a.remove(svc); // no half-configured service left behind
      throw e;
    } finally {
      a.close(svc);
    }
  } finally {
    a.close(manager);
  }
  return notes;
}

export function startAgentService(): void {
  const done = withService(SERVICE_START, (svc) => {
    if (!scm().start(svc, 0, null)) throw new Win32Error(`StartServiceW(${SERVICE_NAME})`, lastError());
  });
  if (done === null) throw new Win32Error(`StartServiceW(${SERVICE_NAME})`, ERROR_SERVICE_DOES_NOT_EXIST);
}

export interface ServiceState {
  state: number;
  pid: number;
  win32ExitCode: number;
}

export function queryAgentServiceState(): ServiceState | null {
  return withService(SERVICE_QUERY_STATUS, (svc) => queryState(svc));
}

function queryState(svc: Handle): ServiceState {
  const a = scm();
  const out = [{}] as Record<string, number>[];
  if (!a.queryStatus(svc, 0, out, ffi().sizeof(a.types.statusProcess as never), [0]))
    throw new Win32Error('QueryServiceStatusEx', lastError());
  return { state: out[0]!.state!, pid: out[0]!.pid!, win32ExitCode: out[0]!.win32ExitCode! };
}

export interface ServiceConfig {
  commandLine: string | null;
  startType: string;
  account: string | null;
}

export function queryAgentServiceConfig(): ServiceConfig | null {
  return withService(SERVICE_QUERY_CONFIG, (svc) => {
    const a = scm();
    const needed = [0];
    if (!a.queryConfig(svc, null, 0, needed) && lastError() !== ERROR_INSUFFICIENT_BUFFER)
      throw new Win32Error('QueryServiceConfigW', lastError());
    const buf = Buffer.alloc(Math.max(needed[0]!, ffi().sizeof(a.types.config as never)));
    if (!a.queryConfig(svc, buf, buf.length, needed)) throw new Win32Error('QueryServiceConfigW', lastError());
    const c = ffi().decode(buf, a.types.config as never) as {
      start: number;
      binaryPath: string | null;
      account: string | null;
    };
    return { commandLine: c.binaryPath, startType: START_TYPES[c.start] ?? String(c.start), account: c.account };
  });
}

/**
 * Asks the service to stop and waits (up to `timeoutMs`) until the SCM reports it stopped. Returns false
 * when there is no such service.
 */
export async function stopAgentService(timeoutMs = 30_000): Promise<boolean> {
  const sent = withService(SERVICE_STOP | SERVICE_QUERY_STATUS, (svc) => {
    if (!scm().control(svc, SERVICE_CONTROL_STOP, [{}])) {
      const code = lastError();
      if (code !== ERROR_SERVICE_NOT_ACTIVE) throw new Win32Error(`ControlService(${SERVICE_NAME}, stop)`, code);
    }
    return true;
  });
  if (sent === null) return false;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = queryAgentServiceState();
    if (!s || s.state === SERVICE_STOPPED) return true;
    if (Date.now() > deadline) throw new Error(`the ${SERVICE_NAME} service did not stop within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Marks the service for deletion (the SCM removes it once its last handle is closed). False: no such service. */
export function deleteAgentService(): boolean {
  const done = withService(DELETE, (svc) => {
    if (!scm().remove(svc)) throw new Win32Error(`DeleteService(${SERVICE_NAME})`, lastError());
    return true;
  });
  return done !== null;
}
