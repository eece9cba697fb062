/**
 * Account names of SIDs (`S-1-5-21-...-1001` → `DESKTOP-1\bob`) through LookupAccountSidW, for the task store's
 * principals, which Windows often records as SIDs. A SID Windows cannot name (a deleted account, a domain out of
 * reach) stays a SID: an analyst can still look it up.
 */
import { ffi, win32 } from './ffi.js';

type ConvertStringSidToSid = (sid: string, out: [unknown]) => boolean;
type LookupAccountSid = (
  system: null,
  sid: unknown,
  name: Buffer,
  cchName: [number],
  domain: Buffer,
  cchDomain: [number],
  use: [number],
) => boolean;
type LocalFree = (h: unknown) => unknown;

let api: { convert: ConvertStringSidToSid; lookup: LookupAccountSid; free: LocalFree } | null = null;

function functions(): NonNullable<typeof api> {
  if (api) return api;
  const advapi32 = win32('advapi32.dll');
  api = {
    convert: advapi32.func(
      'bool __stdcall ConvertStringSidToSidW(str16 sid, _Out_ void **out)',
    ) as ConvertStringSidToSid,
    lookup: advapi32.func(
      'bool __stdcall LookupAccountSidW(str16 system, void *sid, _Out_ uint8_t *name, _Inout_ uint32_t *cchName, _Out_ uint8_t *domain, _Inout_ uint32_t *cchDomain, _Out_ uint32_t *use)',
    ) as LookupAccountSid,
    free: win32('kernel32.dll').func('void * __stdcall LocalFree(void *h)') as LocalFree,
  };
  return api;
}

const SID = /^S-1-\d+(-\d+)+$/i;

/** `DOMAIN\name` of a SID string, or null when it is not a SID or Windows cannot name it. */
export function lookupSid(sid: string): string | null {
  if (!SID.test(sid)) return null;
  const { convert, lookup, free } = functions();
  const out: [unknown] = [null];
  if (!convert(sid, out) || !out[0]) return null;
  try {
    const name = Buffer.alloc(512);
    const domain = Buffer.alloc(512);
    const cchName: [number] = [256];
    const cchDomain: [number] = [256];
    if (!lookup(null, out[0], name, cchName, domain, cchDomain, [0])) return null;
    const user = ffi().decode(name, 'char16_t', cchName[0]) as string;
    const dom = ffi().decode(domain, 'char16_t', cchDomain[0]) as string;
    return dom ? `${dom}\\${user}` : user;
  } finally {
    free(out[0]);
  }
}

/** A memoised `lookupSid` that keeps the SID when Windows cannot name it (one per listing). */
export function sidNamer(): (account: string) => string {
  const cache = new Map<string, string>();
  return (account) => {
    if (!SID.test(account)) return account;
    let name = cache.get(account);
    if (name === undefined) {
      try {
        name = lookupSid(account) ?? account;
      } catch {
        name = account; // the API itself unavailable: the SID as written
      }
      cache.set(account, name);
    }
    return name;
  };
}
