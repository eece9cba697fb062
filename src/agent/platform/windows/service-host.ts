/**
 * Running as a Windows service: the SCM starts the process, which must connect back to it through
 * StartServiceCtrlDispatcherW (or the SCM marks the start failed and kills it) and report its state through
 * SetServiceStatus.
 *
 * StartServiceCtrlDispatcherW blocks its thread until every service of the process has stopped: it runs
 * through koffi's async form, on a worker thread, so that Node's event loop stays free. The SCM then calls
 * ServiceMain (on a thread the dispatcher makes) and the control handler (on the dispatcher's thread); both
 * are koffi registered callbacks, which koffi queues to Node's main thread (node_modules/koffi/doc,
 * "Asynchronous callbacks") while the calling thread waits. So every line of JS here runs on the main
 * thread, and the main thread never waits for the dispatcher's threads (that would deadlock).
 */
import { ffi, lastError, win32, Win32Error } from './ffi.js';

const SERVICE_WIN32_OWN_PROCESS = 0x10;
const SERVICE_STOPPED = 1;
const SERVICE_START_PENDING = 2;
const SERVICE_STOP_PENDING = 3;
const SERVICE_RUNNING = 4;
const SERVICE_ACCEPT_STOP = 0x1;
const SERVICE_ACCEPT_SHUTDOWN = 0x4;
const SERVICE_CONTROL_STOP = 1;
const SERVICE_CONTROL_INTERROGATE = 4;
const SERVICE_CONTROL_SHUTDOWN = 5;
const NO_ERROR = 0;
const ERROR_CALL_NOT_IMPLEMENTED = 120;
/** dwWin32ExitCode saying "see dwServiceSpecificExitCode": the SCM counts it as a failure (recovery actions). */
const ERROR_SERVICE_SPECIFIC_ERROR = 1066;

export interface ServiceHooks {
  /** Starts the work; the service reports RUNNING once it resolves, STOPPED with an error if it rejects. */
  start(): Promise<void>;
  /** Stops the work cleanly (the SCM asked: stop control or system shutdown). */
  stop(): Promise<void>;
  /** One line per state change and failure (a service has no console). */
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

interface Status {
  type: number;
  state: number;
  controlsAccepted: number;
  win32ExitCode: number;
  serviceExitCode: number;
  checkPoint: number;
  waitHint: number;
}

/**
 * Connects to the SCM as service `name` and runs `hooks` under its control. Resolves with the process's
 * exit code once the service has stopped and the dispatcher returned; rejects when the process was not
 * started by the SCM.
 */
export function runAsService(name: string, hooks: ServiceHooks): Promise<number> {
  const k = ffi();
  const advapi = win32('advapi32.dll');
  const SERVICE_STATUS = k.struct('LR_HOST_SERVICE_STATUS', {
    type: 'uint32',
    state: 'uint32',
    controlsAccepted: 'uint32',
    win32ExitCode: 'uint32',
    serviceExitCode: 'uint32',
    checkPoint: 'uint32',
    waitHint: 'uint32',
  });
  const ServiceMain = k.proto('void __stdcall LR_ServiceMain(uint32 argc, void *argv)');
  const HandlerEx = k.proto(
    'uint32 __stdcall LR_HandlerEx(uint32 control, uint32 eventType, void *eventData, void *context)',
  );
  const SERVICE_TABLE_ENTRYW = k.struct('LR_SERVICE_TABLE_ENTRYW', { name: 'str16', main: k.pointer(ServiceMain) });
  const SERVICE_TABLE = k.struct('LR_SERVICE_TABLE', { entries: k.array(SERVICE_TABLE_ENTRYW, 2) });
  const dispatcher = advapi.func('__stdcall', 'StartServiceCtrlDispatcherW', 'bool', [k.pointer(SERVICE_TABLE)]);
  const registerHandler = advapi.func('__stdcall', 'RegisterServiceCtrlHandlerExW', 'void *', [
    'str16',
    k.pointer(HandlerEx),
    'void *',
  ]) as (n: string, h: unknown, c: null) => unknown;
  const setServiceStatus = advapi.func('__stdcall', 'SetServiceStatus', 'bool', [
    'void *',
    k.pointer(SERVICE_STATUS),
  ]) as (h: unknown, s: Status) => boolean;

  let statusHandle: unknown = null;
  let checkPoint = 0;
  let exitCode = 0;
  let stopping = false;
  const report = (state: number, extra: Partial<Status> = {}) => {
    if (!statusHandle) return;
    const pending = state === SERVICE_START_PENDING || state === SERVICE_STOP_PENDING;
    const status: Status = {
      type: SERVICE_WIN32_OWN_PROCESS,
      state,
      controlsAccepted: state === SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0,
      win32ExitCode: NO_ERROR,
      serviceExitCode: 0,
      checkPoint: pending ? ++checkPoint : 0,
      waitHint: pending ? 30_000 : 0,
      ...extra,
    };
    if (!setServiceStatus(statusHandle, status))
      hooks.log('error', 'SetServiceStatus failed', { error: new Win32Error('SetServiceStatus', lastError()).message });
  };

  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    hooks.log('info', `stopping (${why})`);
    report(SERVICE_STOP_PENDING);
    hooks
      .stop()
      .catch((e: Error) => hooks.log('error', 'the agent did not stop cleanly', { error: e.message }))
      .finally(() => {
        hooks.log('info', 'stopped');
        report(SERVICE_STOPPED);
      });
  };

  const handler = k.register((control: number): number => {
    if (control === SERVICE_CONTROL_STOP || control === SERVICE_CONTROL_SHUTDOWN) {
      stop(control === SERVICE_CONTROL_STOP ? 'stop asked' : 'system shutdown');
      return NO_ERROR;
    }
    if (control === SERVICE_CONTROL_INTERROGATE) return NO_ERROR;
    return ERROR_CALL_NOT_IMPLEMENTED;
  }, k.pointer(HandlerEx));

  const main = k.register((): void => {
    statusHandle = registerHandler(name, handler, null);
    if (!statusHandle) {
      hooks.log('error', new Win32Error('RegisterServiceCtrlHandlerExW', lastError()).message);
      return;
    }
    report(SERVICE_START_PENDING);
    hooks
      .start()
      .then(() => {
        if (stopping) return;
        hooks.log('info', 'running');
        report(SERVICE_RUNNING);
      })
      .catch((e: Error) => {
        hooks.log('error', 'the agent could not start', { error: e.message });
        exitCode = 1;
        stopping = true;
        report(SERVICE_STOPPED, { win32ExitCode: ERROR_SERVICE_SPECIFIC_ERROR, serviceExitCode: 1 });
      });
  }, k.pointer(ServiceMain));

  const table = {
    entries: [
      { name, main },
      { name: null, main: null },
    ],
  };
  return new Promise<number>((resolve, reject) => {
    (dispatcher as unknown as { async: (t: unknown, cb: (err: unknown, ok: boolean) => void) => void }).async(
      table,
      (err, ok) => {
        k.unregister(main);
        k.unregister(handler);
        if (err) reject(err as Error);
        // The dispatcher's error is its worker thread's GetLastError, out of reach here; 1063 is the usual one.
        else if (!ok)
          reject(
            new Error(
              'StartServiceCtrlDispatcherW failed: this command runs only when the service control manager starts it (use `lr-agent start` in a console)',
            ),
          );
        else resolve(exitCode);
      },
    );
  });
}
