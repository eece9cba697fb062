/**
 * Registry value data, decoded from the bytes Windows stores into what an analyst reads. Pure: unit-tested
 * under Linux.
 *
 * Each value gives two forms: `value`, typed for scripts (a string, a number, a list of strings, or hex
 * for binary data), and `data`, one line as regedit shows it (`0x0000000a (10)`, `01 02 ff`). Nothing is
 * hidden: a string holding NULs before its end keeps them (the output escapes them), bytes that do not fit
 * the declared type are shown as hex.
 */

export const REG_TYPE_NAMES: readonly string[] = [
  'REG_NONE',
  'REG_SZ',
  'REG_EXPAND_SZ',
  'REG_BINARY',
  'REG_DWORD',
  'REG_DWORD_BIG_ENDIAN',
  'REG_LINK',
  'REG_MULTI_SZ',
  'REG_RESOURCE_LIST',
  'REG_FULL_RESOURCE_DESCRIPTOR',
  'REG_RESOURCE_REQUIREMENTS_LIST',
  'REG_QWORD',
];

export const REG_SZ = 1;
export const REG_EXPAND_SZ = 2;
export const REG_MULTI_SZ = 7;

/** Binary data shown in `data` up to this many bytes (`value` always holds all of it). */
const SHOWN_BYTES = 256;

export function regTypeName(type: number): string {
  return REG_TYPE_NAMES[type] ?? `REG_UNKNOWN(${type})`;
}

export interface DecodedValue {
  type: string;
  /** Typed: string, number (a QWORD above 2^53 as a decimal string), string[] or lower-case hex. */
  value: string | number | string[];
  /** One line for the table. */
  data: string;
}

/** UTF-16LE text without its trailing NULs (an odd last byte, which no string can hold, is dropped). */
export function utf16(bytes: Uint8Array): string {
  const even = bytes.length - (bytes.length % 2);
  return Buffer.from(bytes.buffer, bytes.byteOffset, even).toString('utf16le').replace(/\0+$/, '');
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

function spacedHex(bytes: Uint8Array): string {
  const shown = bytes.subarray(0, SHOWN_BYTES);
  const pairs = hex(shown).match(/../g) ?? [];
  const more = bytes.length > SHOWN_BYTES ? ` … (${bytes.length} bytes)` : '';
  return pairs.join(' ') + more;
}

function asBinary(type: number, bytes: Uint8Array): DecodedValue {
  return { type: regTypeName(type), value: hex(bytes), data: spacedHex(bytes) };
}

function number(type: number, n: bigint, digits: number): DecodedValue {
  const value = n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
  return { type: regTypeName(type), value, data: `0x${n.toString(16).padStart(digits, '0')} (${n.toString()})` };
}

export function decodeValue(type: number, bytes: Uint8Array): DecodedValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  switch (type) {
    case REG_SZ:
    case REG_EXPAND_SZ:
    case 6: {
      const text = utf16(bytes);
      return { type: regTypeName(type), value: text, data: text };
    }
    case REG_MULTI_SZ: {
      const list = utf16(bytes).split('\0');
      // REG_MULTI_SZ ends with an empty string; one with no strings at all is an empty list
      if (list.length === 1 && list[0] === '') list.pop();
      return { type: 'REG_MULTI_SZ', value: list, data: JSON.stringify(list) };
    }
    case 4:
      return bytes.length === 4 ? number(type, BigInt(view.getUint32(0, true)), 8) : asBinary(type, bytes);
    case 5:
      return bytes.length === 4 ? number(type, BigInt(view.getUint32(0, false)), 8) : asBinary(type, bytes);
    case 11:
      return bytes.length === 8 ? number(type, view.getBigUint64(0, true), 16) : asBinary(type, bytes);
    default:
      return asBinary(type, bytes);
  }
}
