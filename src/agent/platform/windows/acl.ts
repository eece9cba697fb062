/**
 * A file or folder's access list (DACL) through the Win32 security API, in SDDL form: set from an SDDL
 * string, read back as one. Windows applies the entries; the agent only writes and compares them.
 */
import { ffi, win32, Win32Error, lastError } from './ffi.js';

const SE_FILE_OBJECT = 1;
const OWNER_SECURITY_INFORMATION = 0x1;
const DACL_SECURITY_INFORMATION = 0x4;
const PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000;
const SDDL_REVISION_1 = 1;

interface AclApi {
  fromSddl(sddl: string, rev: number, sd: unknown[], size: unknown[]): boolean;
  getDacl(sd: unknown, present: number[], dacl: unknown[], defaulted: number[]): boolean;
  setNamed(name: string, type: number, info: number, owner: unknown, group: null, dacl: unknown, sacl: null): number;
  getOwner(sd: unknown, owner: unknown[], defaulted: number[]): boolean;
  getNamed(
    name: string,
    type: number,
    info: number,
    owner: null,
    group: null,
    dacl: unknown[],
    sacl: null,
    sd: unknown[],
  ): number;
  toSddl(sd: unknown, rev: number, info: number, str: unknown[], len: null): boolean;
  wineVersion: (() => string) | null;
  localFree(p: unknown): unknown;
}

let api: AclApi | null = null;
function acl(): AclApi {
  if (api) return api;
  const advapi = win32('advapi32.dll');
  const decl = (sig: string) => advapi.func(sig) as never;
  api = {
    fromSddl: decl(
      'bool __stdcall ConvertStringSecurityDescriptorToSecurityDescriptorW(str16 sddl, uint32 rev, _Out_ void **sd, _Out_ uint32 *size)',
    ),
    getOwner: decl('bool __stdcall GetSecurityDescriptorOwner(void *sd, _Out_ void **owner, _Out_ int *defaulted)'),
    getDacl: decl(
      'bool __stdcall GetSecurityDescriptorDacl(void *sd, _Out_ int *present, _Out_ void **dacl, _Out_ int *defaulted)',
    ),
    setNamed: decl(
      'uint32 __stdcall SetNamedSecurityInfoW(str16 name, int type, uint32 info, void *owner, void *group, void *dacl, void *sacl)',
    ),
    getNamed: decl(
      'uint32 __stdcall GetNamedSecurityInfoW(str16 name, int type, uint32 info, void *owner, void *group, _Out_ void **dacl, void *sacl, _Out_ void **sd)',
    ),
    toSddl: decl(
      'bool __stdcall ConvertSecurityDescriptorToStringSecurityDescriptorW(void *sd, uint32 rev, uint32 info, _Out_ void **str, void *len)',
    ),
    localFree: win32('kernel32.dll').func('void * __stdcall LocalFree(void *p)') as never,
    wineVersion: wineVersionFunc(),
  };
  return api;
}

function decodeWide(p: unknown): string {
  return ffi().decode(p, 'char16_t', -1) as string;
}

/** The SDDL of a security descriptor built by ConvertStringSecurityDescriptorToSecurityDescriptorW. */
function sddlOf(sd: unknown, info = DACL_SECURITY_INFORMATION): string {
  const a = acl();
  const str: unknown[] = [null];
  if (!a.toSddl(sd, SDDL_REVISION_1, info, str, null))
    throw new Win32Error('ConvertSecurityDescriptorToStringSecurityDescriptorW', lastError());
  try {
    return decodeWide(str[0]);
  } finally {
    a.localFree(str[0]);
  }
}

/**
 * Sets the owner (`O:`, when given) and replaces the DACL (`D:`) of `path` from `sddl`, e.g.
 * `O:BAD:P(A;OICI;FA;;;SY)`. With `P`, the list is protected: entries of the parent folder stop being
 * inherited; Windows passes the inheritable entries on to what is inside the folder.
 */
export function setSecurityFromSddl(path: string, sddl: string): void {
  const a = acl();
  const withOwner = sddl.startsWith('O:');
  const sd: unknown[] = [null];
  if (!a.fromSddl(sddl, SDDL_REVISION_1, sd, [0]))
    throw new Win32Error('ConvertStringSecurityDescriptorToSecurityDescriptorW', lastError());
  try {
    // What Windows made of the string, written back: a typo'd right or trustee would not come back the same.
    const built = sddlOf(sd[0], DACL_SECURITY_INFORMATION | (withOwner ? OWNER_SECURITY_INFORMATION : 0));
    if (built !== sddl) throw new Error(`the access list ${sddl} reads back as ${built}`);
    const present = [0];
    const dacl: unknown[] = [null];
    if (!a.getDacl(sd[0], present, dacl, [0])) throw new Win32Error('GetSecurityDescriptorDacl', lastError());
    if (!present[0]) throw new Error(`the access list ${sddl} has no DACL`);
    const owner: unknown[] = [null];
    if (withOwner && !a.getOwner(sd[0], owner, [0])) throw new Win32Error('GetSecurityDescriptorOwner', lastError());
    const info =
      DACL_SECURITY_INFORMATION |
      (withOwner ? OWNER_SECURITY_INFORMATION : 0) |
      (/D:[A-Z]*P/.test(sddl) ? PROTECTED_DACL_SECURITY_INFORMATION : 0);
    const rc = a.setNamed(path, SE_FILE_OBJECT, info >>> 0, owner[0] ?? null, null, dacl[0], null);
    if (rc !== 0) throw new Win32Error(`SetNamedSecurityInfoW(${path})`, rc);
  } finally {
    a.localFree(sd[0]);
  }
}

/** The DACL of `path` as SDDL (`D:` part only, e.g. `D:P(A;OICI;FA;;;SY)`); with `owner`, its `O:` part first. */
export function readDaclSddl(path: string, owner = false): string {
  const a = acl();
  const sd: unknown[] = [null];
  const info = DACL_SECURITY_INFORMATION | (owner ? OWNER_SECURITY_INFORMATION : 0);
  const rc = a.getNamed(path, SE_FILE_OBJECT, info, null, null, [null], null, sd);
  if (rc !== 0) throw new Win32Error(`GetNamedSecurityInfoW(${path})`, rc);
  try {
    return sddlOf(sd[0], info);
  } finally {
    a.localFree(sd[0]);
  }
}

function wineVersionFunc(): (() => string) | null {
  try {
    return win32('ntdll.dll').func('const char * __cdecl wine_get_version()') as () => string;
  } catch {
    return null; // Windows' ntdll has no such export
  }
}

/**
 * The Wine version when running under Wine, else null. Wine (upstream, 8.0) keeps no access lists on files:
 * it maps a DACL to Unix mode bits and builds one back from them, so a list never reads back as set there.
 */
export function wineVersion(): string | null {
  return acl().wineVersion?.() ?? null;
}
