/**
 * What `remediate` never takes on Windows, judged on paths and names alone (pure: unit-tested under Linux).
 * - Files Windows needs to boot or to run at all: the kernel, the HAL, the boot loaders, the code-integrity
 *   library, the session and logon processes, the registry hives, the boot drivers. Quarantining one of them
 *   leaves a machine that no longer starts (or stops at once: csrss and wininit are critical processes),
 *   which is not a remediation an analyst can undo from the console.
 * - Processes whose end stops Windows (critical processes: the kernel's System process, csrss, wininit, smss,
 *   lsass, services, winlogon): terminating one bluescreens the machine or logs every user off.
 * The lists are short on purpose: they guard against the irreparable mistake, not against every system file
 * (`remediate file C:\Windows\notepad.exe` stays an analyst's decision).
 */
import { windowsWithin } from './paths.js';

/** Under `%SystemRoot%\System32`: files without which Windows does not boot (compared case-insensitively). */
export const BOOT_CRITICAL_SYSTEM32 = [
  'ntoskrnl.exe',
  'hal.dll',
  'winload.exe',
  'winload.efi',
  'ci.dll',
  'smss.exe',
  'csrss.exe',
  'wininit.exe',
  'winlogon.exe',
  'lsass.exe',
  'services.exe',
  'svchost.exe',
  'kernel32.dll',
  'ntdll.dll',
  'config\\SAM',
  'config\\SYSTEM',
  'config\\SOFTWARE',
  'config\\SECURITY',
] as const;

/** Whole folders: the boot drivers (`System32\drivers\*.sys`, matched by extension) and the boot files. */
const BOOT_FOLDERS_OF_SYSTEM32 = ['boot'];
const BOOT_FOLDERS_OF_DRIVE = ['Boot', 'EFI'];
const BOOT_FILES_OF_DRIVE = ['bootmgr', 'BOOTNXT'];

/** Processes whose end stops Windows, by image name (lower case). */
export const CRITICAL_PROCESS_NAMES = [
  'csrss.exe',
  'wininit.exe',
  'smss.exe',
  'lsass.exe',
  'services.exe',
  'winlogon.exe',
] as const;

/** The System Idle Process (0) and the System process (4): the kernel itself. */
export const KERNEL_PIDS = [0, 4] as const;

/** Lower case, backslashes, no trailing separator. */
function key(p: string): string {
  return p.replace(/\//g, '\\').replace(/\\+$/, '').toLowerCase();
}

/**
 * Why `p` (absolute, resolved as windows/paths.ts does) must not be quarantined because Windows needs it to
 * boot, or null. `systemRoot` is `%SystemRoot%` (`C:\Windows`); the boot files are looked for at the root of
 * its drive. Check both the path as resolved and its real path (a junction may lead to System32).
 */
export function bootCriticalProblem(p: string, systemRoot = 'C:\\Windows'): string | null {
  const file = key(p);
  const system32 = key(`${systemRoot}\\System32`);
  const drive = key(systemRoot).slice(0, 2);
  const why = 'a file Windows needs to boot: refused (see docs/security.md)';
  for (const name of BOOT_CRITICAL_SYSTEM32) if (file === key(`${system32}\\${name}`)) return why;
  if (
    windowsWithin(file, `${system32}\\drivers`) &&
    file.endsWith('.sys') &&
    file.lastIndexOf('\\') === `${system32}\\drivers`.length
  )
    return 'a boot driver (System32\\drivers\\*.sys): refused (see docs/security.md)';
  for (const f of BOOT_FOLDERS_OF_SYSTEM32) if (windowsWithin(file, `${system32}\\${f}`)) return why;
  for (const f of BOOT_FOLDERS_OF_DRIVE) if (windowsWithin(file, `${drive}\\${f}`)) return why;
  for (const f of BOOT_FILES_OF_DRIVE) if (file === key(`${drive}\\${f}`)) return why;
  return null;
}

/** Whether an image name is one of the critical processes (`LSASS.EXE` too). */
export function isCriticalProcessName(name: string): boolean {
  return (CRITICAL_PROCESS_NAMES as readonly string[]).includes(name.toLowerCase());
}

/** Whether two Windows paths name the same file as Windows compares names (case-insensitive, either slash). */
export function sameWindowsPath(a: string, b: string): boolean {
  return key(a) === key(b);
}
