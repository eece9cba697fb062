/**
 * Who signed a kernel module, read the way modinfo does: a signed `.ko` ends with
 * `<signature><struct module_signature><"~Module signature appended~\n">`. Modern kernels sign with
 * PKCS#7, where the signer is the common name of the issuer in the first SignerInfo; old ones stored
 * the signer name in clear. Only the tail of the file is read.
 */
import { promises as fsp } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const MAGIC = Buffer.from('~Module signature appended~\n');
const INFO_BYTES = 12; // u8 algo, hash, id_type, signer_len, key_id_len; u8 pad[3]; __be32 sig_len
const PKEY_ID_PKCS7 = 2;

/** The signer's name, `unsigned` when the module carries no signature, null when it cannot be told. */
export type ModuleSigner = string | null;

export const UNSIGNED = 'unsigned';

interface Tlv {
  tag: number;
  start: number; // first content byte
  end: number; // one past the last content byte
}

/** One DER TLV at `offset` (single-byte tags, definite lengths: all PKCS#7 signatures use them). */
function readTlv(buf: Buffer, offset: number): Tlv | null {
  if (offset + 2 > buf.length) return null;
  const tag = buf[offset] as number;
  let len = buf[offset + 1] as number;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    start += n;
  }
  const end = start + len;
  return end <= buf.length ? { tag, start, end } : null;
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const t = readTlv(buf, at);
    if (!t) break;
    out.push(t);
    at = t.end;
  }
  return out;
}

const OID_COMMON_NAME = Buffer.from([0x55, 0x04, 0x03]);
const OID_ORGANIZATION = Buffer.from([0x55, 0x04, 0x0a]);

/** Attribute of an X.501 Name (SEQUENCE OF SET OF {OID, value}). */
function nameAttribute(buf: Buffer, name: Tlv, oid: Buffer): string | null {
  for (const rdn of children(buf, name)) {
    for (const atv of children(buf, rdn)) {
      const [type, value] = children(buf, atv);
      if (type?.tag === 0x06 && value && buf.subarray(type.start, type.end).equals(oid)) {
        return buf.toString(value.tag === 0x0c ? 'utf8' : 'latin1', value.start, value.end);
      }
    }
  }
  return null;
}

/** Issuer CN (or O) of the first SignerInfo of a DER PKCS#7 SignedData, or null. */
export function pkcs7SignerName(der: Buffer): string | null {
  const contentInfo = readTlv(der, 0);
  if (!contentInfo) return null;
  const explicit = children(der, contentInfo)[1];
  const signedData = explicit && children(der, explicit)[0];
  if (!signedData) return null;
  const signerInfos = children(der, signedData).at(-1);
  if (signerInfos?.tag !== 0x31) return null;
  const signerInfo = children(der, signerInfos)[0];
  const sid = signerInfo && children(der, signerInfo)[1];
  if (sid?.tag !== 0x30) return null; // identified by subjectKeyIdentifier: no name to show
  const issuer = children(der, sid)[0];
  if (!issuer) return null;
  return nameAttribute(der, issuer, OID_COMMON_NAME) ?? nameAttribute(der, issuer, OID_ORGANIZATION);
}

/** Signer of a module image held in memory. */
export function signerFromImage(image: Buffer): ModuleSigner {
  if (image.length < MAGIC.length + INFO_BYTES || !image.subarray(image.length - MAGIC.length).equals(MAGIC))
    return UNSIGNED;
  const infoAt = image.length - MAGIC.length - INFO_BYTES;
  const idType = image[infoAt + 2] as number;
  const signerLen = image[infoAt + 3] as number;
  const keyIdLen = image[infoAt + 4] as number;
  const sigLen = image.readUInt32BE(infoAt + 8);
  const sigAt = infoAt - sigLen;
  if (sigAt < 0) return null;
  if (signerLen > 0) {
    // Pre-PKCS#7 layout: signer name, key id, then the signature.
    const signerAt = sigAt - keyIdLen - signerLen;
    return signerAt >= 0 ? image.toString('utf8', signerAt, signerAt + signerLen) : null;
  }
  if (idType !== PKEY_ID_PKCS7) return null;
  return pkcs7SignerName(image.subarray(sigAt, infoAt));
}

/** Tail bytes needed to reach a signature (they are a few KiB; 64 KiB leaves room for big certificates). */
const TAIL_BYTES = 64 * 1024;

/**
 * Signer of the module file at `hostPath`. `.ko` files are read from their tail; `.ko.gz` are
 * decompressed; `.ko.xz`/`.ko.zst` cannot be opened with Node's zlib here and give null.
 */
export async function moduleSigner(hostPath: string): Promise<ModuleSigner> {
  if (hostPath.endsWith('.ko.gz')) return signerFromImage(gunzipSync(await fsp.readFile(hostPath)));
  if (!hostPath.endsWith('.ko')) return null;
  const handle = await fsp.open(hostPath, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    return signerFromImage(tail);
  } finally {
    await handle.close();
  }
}
