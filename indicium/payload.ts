/**
 * The barcode's bytes: `record || signature`, the signature being the last 64 bytes, pure Ed25519
 * over every byte before it. This module dispatches on the version byte; v1 is the only version.
 */
import type { KeyObject } from 'node:crypto';
import { MalformedIndicium } from './errors.ts';
import { verifySignature } from './signature.ts';
import {
  decodeRecord,
  encodeRecord,
  type IndiciumRecord,
  keyIdString,
  meterString,
  PAYLOAD_LENGTH,
  RECORD_LENGTH,
  SIGNATURE_LENGTH,
  VERSION,
} from './v1/record.ts';

export interface DecodedIndicium {
  record: IndiciumRecord;
  /** The signed bytes (the record), a view into the payload. */
  signed: Uint8Array;
  signature: Uint8Array;
  /** Derived from the record, for lookups and display. */
  meter: string;
  keyId: string;
}

/** Strictly decode a payload. Throws MalformedIndicium, and nothing else, on any deviation. */
export function decodeIndicium(payload: unknown): DecodedIndicium {
  if (!(payload instanceof Uint8Array))
    throw new MalformedIndicium('not_bytes', 'payload is not a byte array');
  if (payload.length === 0) throw new MalformedIndicium('length', 'payload is empty');
  const version = payload[0]!;
  if (version !== VERSION) throw new MalformedIndicium('version', `unknown version ${version}`);
  if (payload.length !== PAYLOAD_LENGTH)
    throw new MalformedIndicium('length', `payload is ${payload.length} bytes, expected ${PAYLOAD_LENGTH}`);
  const signed = payload.subarray(0, RECORD_LENGTH);
  const record = decodeRecord(signed);
  return {
    record,
    signed,
    signature: payload.subarray(RECORD_LENGTH, RECORD_LENGTH + SIGNATURE_LENGTH),
    meter: meterString(record.vendor, record.device),
    keyId: keyIdString(record.vendor, record.keyNumber),
  };
}

/** A decoded result or the reason it is malformed; for callers that prefer data to exceptions. */
export function tryDecodeIndicium(
  payload: unknown,
): { ok: true; value: DecodedIndicium } | { ok: false; error: MalformedIndicium } {
  try {
    return { ok: true, value: decodeIndicium(payload) };
  } catch (e) {
    if (e instanceof MalformedIndicium) return { ok: false, error: e };
    throw e;
  }
}

/** Concatenate a record and its signature into a payload. */
export function assemblePayload(recordBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  if (recordBytes.length !== RECORD_LENGTH || signature.length !== SIGNATURE_LENGTH) {
    throw new RangeError('record or signature has the wrong length');
  }
  const out = new Uint8Array(PAYLOAD_LENGTH);
  out.set(recordBytes, 0);
  out.set(signature, RECORD_LENGTH);
  return out;
}

export function verifyIndicium(decoded: DecodedIndicium, key: KeyObject): boolean {
  return verifySignature(decoded.signed, decoded.signature, key);
}

export { encodeRecord };
