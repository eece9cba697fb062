/**
 * Script signatures: Ed25519 over a domain-separated statement (`lr-script-signature:v2`) of the file's
 * library name, the interpreter that name selects (`bash`, `python3`, `pwsh`, or `native-elf` /
 * `native-pe` for an executable the kernel runs itself), its SHA-256 and its size, as canonical JSON. Signing the
 * digest rather than the raw bytes lets the signer, the service and the agent all check a 250 MB file while
 * streaming it, never holding it in memory (Ed25519 itself needs the whole message); SHA-256 binds the
 * signature to every byte. The name and interpreter are signed too: a signed `cleanup.py` uploaded again
 * as `cleanup.sh` (the same bytes, run by bash) does not carry its signature over. (v1 signed the digest
 * and size only: files signed then must be signed again.)
 * Used by `lr` (sign), the service (refuses a bad signature at upload) and the agent (checks before run).
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../shared/wire/command-signature.js';
import { libraryRunner } from '../shared/commands/library-rules.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const DOMAIN = 'lr-script-signature:v2\n';

/** What a script signature covers: the library file as the agent will run it. */
export interface SignedScript {
  /** The library name (its extension picks the interpreter). */
  name: string;
  sha256: string;
  size: number;
}

export function signatureStatement(file: SignedScript): Buffer {
  if (!SHA256_HEX.test(file.sha256)) throw new Error('sha256 must be 64 lower-case hex digits');
  if (!Number.isSafeInteger(file.size) || file.size < 0) throw new Error('size must be a non-negative integer');
  if (file.name.length === 0) throw new Error('the file needs a name');
  const { name, sha256, size } = file;
  return Buffer.from(DOMAIN + canonicalJson({ name, interpreter: libraryRunner(name), sha256, size }), 'utf8');
}

/** Parses an Ed25519 public key (PEM, SPKI); throws a one-line error otherwise. */
export function ed25519PublicKey(pem: string): KeyObject {
  // createPublicKey would happily derive the public half of a private key: refuse, so that a private
  // key handed over by mistake is never stored by the service.
  if (/PRIVATE KEY/.test(pem))
    throw new Error('this is a private key: give the public key (and keep the private key secret)');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('not a PEM public key');
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`not an Ed25519 key (${key.asymmetricKeyType ?? 'unknown type'})`);
  return key;
}

export function ed25519PrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error('not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`not an Ed25519 key (${key.asymmetricKeyType ?? 'unknown type'})`);
  return key;
}

/** SHA-256 (hex) of the key's DER SubjectPublicKeyInfo: how analysts compare keys by eye. */
export function publicKeyFingerprint(pem: string): string {
  const der = ed25519PublicKey(pem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Base64 signature of a library file described by its name, SHA-256 and size. */
export function signScript(privateKeyPem: string, file: SignedScript): string {
  return sign(null, signatureStatement(file), ed25519PrivateKey(privateKeyPem)).toString('base64');
}

/** Whether `signature` (base64) is the publisher's signature of this library file (name, SHA-256, size). */
export function verifyScriptSignature(publicKeyPem: string, file: SignedScript, signature: string): boolean {
  const raw = Buffer.from(signature, 'base64');
  if (raw.length !== 64) return false;
  try {
    return verify(null, signatureStatement(file), ed25519PublicKey(publicKeyPem), raw);
  } catch {
    return false;
  }
}
