/**
 * The service control manager's numbers in words (pure: unit-tested on any OS). Names follow the
 * SERVICE_* constants of winsvc.h in lower case, the way an analyst filters on them.
 */

/** dwCurrentState of SERVICE_STATUS. */
const STATES: Readonly<Record<number, string>> = {
  1: 'stopped',
  2: 'start_pending',
  3: 'stop_pending',
  4: 'running',
  5: 'continue_pending',
  6: 'pause_pending',
  7: 'paused',
};

export const SERVICE_RUNNING = 4;

export function serviceStateName(state: number): string {
  return STATES[state] ?? `unknown(${state})`;
}

/** dwStartType; an auto-start service with the delayed flag set is `delayed-auto`. */
const START_TYPES: Readonly<Record<number, string>> = {
  0: 'boot',
  1: 'system',
  2: 'auto',
  3: 'demand',
  4: 'disabled',
};

export const SERVICE_AUTO_START = 2;

export function startTypeName(startType: number, delayed = false): string {
  if (startType === SERVICE_AUTO_START && delayed) return 'delayed-auto';
  return START_TYPES[startType] ?? `unknown(${startType})`;
}

// dwServiceType bits.
export const SERVICE_KERNEL_DRIVER = 0x1;
export const SERVICE_FILE_SYSTEM_DRIVER = 0x2;
export const SERVICE_RECOGNIZER_DRIVER = 0x8;
export const SERVICE_DRIVER = SERVICE_KERNEL_DRIVER | SERVICE_FILE_SYSTEM_DRIVER | SERVICE_RECOGNIZER_DRIVER;
export const SERVICE_WIN32_OWN_PROCESS = 0x10;
export const SERVICE_WIN32_SHARE_PROCESS = 0x20;
export const SERVICE_WIN32 = SERVICE_WIN32_OWN_PROCESS | SERVICE_WIN32_SHARE_PROCESS;
const SERVICE_USER_SERVICE = 0x40;
const SERVICE_USERSERVICE_INSTANCE = 0x80;
const SERVICE_INTERACTIVE_PROCESS = 0x100;
const SERVICE_PKG_SERVICE = 0x200;

/**
 * The service type as one word, with its modifier flags after `+`: `own_process`, `share_process`,
 * `user_own_process+instance`, `own_process+interactive`, `kernel_driver`, `file_system_driver`...
 * Bits it does not know are kept in hex so that nothing is hidden.
 */
export function serviceTypeName(type: number): string {
  const words: string[] = [];
  let known = 0;
  const user = type & SERVICE_USER_SERVICE ? 'user_' : '';
  if (type & SERVICE_KERNEL_DRIVER) words.push('kernel_driver');
  if (type & SERVICE_FILE_SYSTEM_DRIVER) words.push('file_system_driver');
  if (type & SERVICE_RECOGNIZER_DRIVER) words.push('recognizer_driver');
  if (type & SERVICE_WIN32_OWN_PROCESS) words.push(`${user}own_process`);
  if (type & SERVICE_WIN32_SHARE_PROCESS) words.push(`${user}share_process`);
  known |= SERVICE_DRIVER | SERVICE_WIN32 | SERVICE_USER_SERVICE;
  const base = words.length > 0 ? words.join('|') : type & SERVICE_USER_SERVICE ? 'user_service' : 'unknown';
  const flags: string[] = [];
  if (type & SERVICE_USERSERVICE_INSTANCE) flags.push('instance');
  if (type & SERVICE_INTERACTIVE_PROCESS) flags.push('interactive');
  if (type & SERVICE_PKG_SERVICE) flags.push('package');
  known |= SERVICE_USERSERVICE_INSTANCE | SERVICE_INTERACTIVE_PROCESS | SERVICE_PKG_SERVICE;
  const rest = type & ~known;
  if (rest) flags.push(`0x${rest.toString(16)}`);
  return [base, ...flags].join('+');
}

/** Where the service's configuration lives in the registry (what the `unitPath` of a record points at). */
export function serviceRegistryKey(name: string): string {
  return `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${name}`;
}
