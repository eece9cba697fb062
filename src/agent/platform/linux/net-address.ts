/**
 * Decoding of the hex socket addresses in /proc/net/{tcp,udp}[6]. The kernel prints the raw in-memory
 * words: IPv4 is one 32-bit word and IPv6 four, each in the host's byte order (little-endian on x86 and
 * arm64), so each word is byte-swapped back into network order on little-endian hosts.
 */
import os from 'node:os';

const HOST_LITTLE_ENDIAN = os.endianness() === 'LE';

/** Network-order bytes of one /proc/net hex address (8 or 32 hex digits). */
export function addressBytes(hex: string, littleEndian = HOST_LITTLE_ENDIAN): Buffer {
  const raw = Buffer.from(hex, 'hex');
  if (littleEndian) for (let i = 0; i + 4 <= raw.length; i += 4) raw.subarray(i, i + 4).reverse();
  return raw;
}

function ipv4(bytes: Buffer, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 text form: lower case, longest run of 2+ zero groups as `::`, IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIpv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${ipv4(bytes, 12)}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The dotted form of one /proc/net IPv4 word (its 8 hex digits as a number, in the host's byte order). */
export function ipv4FromWord(w: number, littleEndian = HOST_LITTLE_ENDIAN): string {
  return littleEndian
    ? `${w & 255}.${(w >>> 8) & 255}.${(w >>> 16) & 255}.${w >>> 24}`
    : `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

/** Text form of one /proc/net hex address (8 hex digits: IPv4, 32: IPv6). */
export function decodeAddress(hex: string, littleEndian = HOST_LITTLE_ENDIAN): string {
  // IPv4 without a Buffer: thousands of sockets make this loop hot.
  if (hex.length === 8) return ipv4FromWord(parseInt(hex, 16), littleEndian);
  const bytes = addressBytes(hex, littleEndian);
  return bytes.length === 4 ? ipv4(bytes) : formatIpv6(bytes);
}

/** `0100007F:1F90` -> { address: '127.0.0.1', port: 8080 } (and the IPv6 form for 32-digit addresses). */
export function decodeEndpoint(text: string, littleEndian = HOST_LITTLE_ENDIAN): { address: string; port: number } {
  const colon = text.indexOf(':');
  return { address: decodeAddress(text.slice(0, colon), littleEndian), port: parseInt(text.slice(colon + 1), 16) };
}
