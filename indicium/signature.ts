/**
 * Ed25519 (RFC 8032, pure) for indicia. The rule is strict RFC 8032 (see FORMAT.md, "Signature rule"):
 *   - S must be canonical (S < L); we check this ourselves before OpenSSL sees the signature;
 *   - R is compared by its canonical encoding (cofactorless equation, as OpenSSL does), so a
 *     non-canonical R never verifies;
 *   - a public key must be a canonical point encoding and not of small order; `checkPublicKey`
 *     is applied when a key enters a registry, not per signature.
 * So one indicium has exactly one valid byte form. node:crypto (OpenSSL) does the hot-path work.
 */
import { createPublicKey, type KeyObject, verify as nodeVerify } from 'node:crypto';
import { Point } from '@noble/ed25519';

/** The order of the Ed25519 base point. */
export const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** S (bytes 32..63 of the signature, little-endian) as a bigint. */
export function signatureS(signature: Uint8Array): bigint {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!);
  return s;
}

export function isCanonicalS(signature: Uint8Array): boolean {
  // Fast path: S < 2^252 is always canonical; only the top byte range needs the full compare.
  const top = signature[63]!;
  if (top < 0x10) return true;
  if (top > 0x10) return false;
  return signatureS(signature) < ED25519_L;
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError(`Ed25519 public key must be 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function rawFromPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519' || der.length !== 44 || !der.subarray(0, 12).equals(SPKI_PREFIX)) {
    throw new RangeError('not an Ed25519 public key');
  }
  return new Uint8Array(der.subarray(12));
}

export function publicKeyToPem(raw: Uint8Array): string {
  return publicKeyFromRaw(raw).export({ format: 'pem', type: 'spki' }).toString();
}

export function rawFromPem(pem: string): Uint8Array {
  return rawFromPublicKey(createPublicKey(pem));
}

/**
 * Why a public key is unfit for a registry, or undefined if it is fit: wrong length, a
 * non-canonical point encoding, a point not on the curve, or a point of small order (with such
 * a key, signatures can be valid for many messages).
 */
export function checkPublicKey(raw: Uint8Array): string | undefined {
  if (raw.length !== 32) return `key is ${raw.length} bytes, expected 32`;
  let point: Point;
  try {
    point = Point.fromBytes(raw, false);
  } catch {
    return 'key is not a canonical encoding of a curve point';
  }
  if (point.isSmallOrder()) return 'key is a point of small order';
  return undefined;
}

/** Strict verification of `signature` over `message`. Never throws on bad signatures. */
export function verifySignature(message: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  if (signature.length !== 64 || !isCanonicalS(signature)) return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}
