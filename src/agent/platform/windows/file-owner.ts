/**
 * The owner of a Windows file as `DOMAIN\name` (GetNamedSecurityInfoW for the owner SID, LookupAccountSidW
 * for its name; the SID string `S-1-5-…` when the name cannot be looked up), for `dir` and `fileinfo`.
 * Names are cached per SID: a folder of thousands of files has a handful of owners, and a lookup may
 * cost a round trip to a domain controller.
 */
import { ffi, win32 } from './ffi.js';

const SE_FILE_OBJECT = 1;
const OWNER_SECURITY_INFORMATION = 0x1;
/** Most names cached (a SID string is short: the cache stays small). */
const MAX_CACHED = 4096;

interface Api {
  getNamedSecurityInfo: (
    name: string,
    type: number,
    info: number,
    owner: unknown[],
    group: null,
    dacl: null,
    sacl: null,
    sd: unknown[],
  ) => number;
  lookupAccountSid: (
    system: null,
    sid: unknown,
    name: Buffer,
    nameLen: number[],
    domain: Buffer,
    domainLen: number[],
    use: number[],
  ) => boolean;
  sidToString: (sid: unknown, out: unknown[]) => boolean;
  localFree: (p: unknown) => unknown;
}

let api: Api | null = null;
const names = new Map<string, string>();

function load(): Api {
  if (api) return api;
  const advapi = win32('advapi32.dll');
  const kernel = win32('kernel32.dll');
  api = {
    getNamedSecurityInfo: advapi.func(
      'uint32 __stdcall GetNamedSecurityInfoW(str16 name, int type, uint32 info, _Out_ void **owner, void **group, void **dacl, void **sacl, _Out_ void **sd)',
    ) as Api['getNamedSecurityInfo'],
    lookupAccountSid: advapi.func(
      'bool __stdcall LookupAccountSidW(str16 system, void *sid, _Out_ uint16_t *name, _Inout_ uint32_t *nameLen, _Out_ uint16_t *domain, _Inout_ uint32_t *domainLen, _Out_ int *use)',
    ) as Api['lookupAccountSid'],
    sidToString: advapi.func(
      'bool __stdcall ConvertSidToStringSidW(void *sid, _Out_ void **out)',
    ) as Api['sidToString'],
    localFree: kernel.func('void * __stdcall LocalFree(void *mem)') as Api['localFree'],
  };
  return api;
}

/** The owner of `path` (not following a final link), or null when its security descriptor cannot be read. */
export function fileOwner(path: string): string | null {
  let a: Api;
  try {
    a = load();
  } catch {
    return null;
  }
  const owner: unknown[] = [null];
  const sd: unknown[] = [null];
  if (
    a.getNamedSecurityInfo(path, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, owner, null, null, null, sd) !== 0 ||
    !owner[0]
  )
    return null;
  try {
    const text: unknown[] = [null];
    if (!a.sidToString(owner[0], text) || !text[0]) return null;
    let sid: string;
    try {
      sid = ffi().decode(text[0], 'char16_t', -1) as string;
    } finally {
      a.localFree(text[0]);
    }
    const cached = names.get(sid);
    if (cached !== undefined) return cached;
    const name = Buffer.alloc(512);
    const domain = Buffer.alloc(512);
    const nameLen = [256];
    const domainLen = [256];
    let shown = sid;
    if (a.lookupAccountSid(null, owner[0], name, nameLen, domain, domainLen, [0])) {
      const user = name.toString('utf16le', 0, nameLen[0]! * 2);
      const dom = domain.toString('utf16le', 0, domainLen[0]! * 2);
      shown = dom ? `${dom}\\${user}` : user;
    }
    if (names.size >= MAX_CACHED) names.clear();
    names.set(sid, shown);
    return shown;
  } finally {
    a.localFree(sd[0]);
  }
}
