/**
 * Who signed a PE file, from the PKCS#7 SignedData of its embedded Authenticode signature: the subject of
 * the certificate that made the first SignerInfo ("Microsoft Windows", a vendor's name), found among the
 * certificates the signature carries by its issuer and serial number. Pure DER reading: nothing is verified.
 */
import { pkcs7SignerName } from '../linux/module-signature.js';

interface Tlv {
  tag: number;
  /** First byte of the TLV (its tag). */
  at: number;
  /** First content byte. */
  start: number;
  /** One past the last content byte. */
  end: number;
}

/** One DER TLV at `offset` (single-byte tags, definite lengths, as DER has them). */
function readTlv(der: Buffer, offset: number, limit = der.length): Tlv | null {
  if (offset + 2 > limit) return null;
  const tag = der[offset] as number;
  let len = der[offset + 1] as number;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] as number);
    start += n;
  }
  const end = start + len;
  return end <= limit ? { tag, at: offset, start, end } : null;
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const t = readTlv(der, at, parent.end);
    if (!t) break;
    out.push(t);
    at = t.end;
  }
  return out;
}

function bytes(der: Buffer, t: Tlv): Buffer {
  return der.subarray(t.at, t.end);
}

const OID_COMMON_NAME = Buffer.from([0x55, 0x04, 0x03]);
const OID_ORGANIZATION = Buffer.from([0x55, 0x04, 0x0a]);

/** An attribute of an X.501 Name (SEQUENCE OF SET OF {OID, value}). */
function nameAttribute(der: Buffer, name: Tlv, oid: Buffer): string | null {
  for (const rdn of children(der, name)) {
    for (const atv of children(der, rdn)) {
      const [type, value] = children(der, atv);
      if (type?.tag === 0x06 && value && der.subarray(type.start, type.end).equals(oid)) {
        // BMPString (0x1e) is UTF-16BE; UTF8String (0x0c); the others are ASCII-compatible.
        if (value.tag === 0x1e) return Buffer.from(der.subarray(value.start, value.end)).swap16().toString('utf16le');
        return der.toString(value.tag === 0x0c ? 'utf8' : 'latin1', value.start, value.end);
      }
    }
  }
  return null;
}

/**
 * The signer's name: subject CN (or O) of the signing certificate; when the signature carries no matching
 * certificate, the issuer's name from the SignerInfo (what `drivers` shows on Linux); null when unreadable.
 */
export function authenticodeSignerName(der: Buffer): string | null {
  const contentInfo = readTlv(der, 0);
  const explicit = contentInfo && children(der, contentInfo)[1];
  const signedData = explicit && children(der, explicit)[0];
  if (!signedData) return null;
  const parts = children(der, signedData);
  const signerInfos = parts.at(-1);
  const signerInfo = signerInfos?.tag === 0x31 ? children(der, signerInfos)[0] : undefined;
  const sid = signerInfo && children(der, signerInfo)[1];
  const [issuer, serial] = sid?.tag === 0x30 ? children(der, sid) : [];
  const certificates = parts.find((p) => p.tag === 0xa0);
  if (issuer && serial && certificates) {
    for (const cert of children(der, certificates)) {
      const tbs = children(der, cert)[0];
      if (!tbs) continue;
      const fields = children(der, tbs);
      const f = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields; // [0] version is optional
      const [certSerial, , certIssuer, , subject] = f;
      if (!certSerial || !certIssuer || !subject) continue;
      if (bytes(der, certSerial).equals(bytes(der, serial)) && bytes(der, certIssuer).equals(bytes(der, issuer))) {
        return nameAttribute(der, subject, OID_COMMON_NAME) ?? nameAttribute(der, subject, OID_ORGANIZATION);
      }
    }
  }
  return pkcs7SignerName(der);
}
