/**
 * The contract between the central signer and the postal authority: the record format, the
 * payload (record || signature), strict verification, the human-readable text, and barcodes.
 */
export { MalformedIndicium, type MalformedReason } from './errors.ts';
export {
  assemblePayload,
  type DecodedIndicium,
  decodeIndicium,
  encodeRecord,
  tryDecodeIndicium,
  verifyIndicium,
} from './payload.ts';
export {
  checkPublicKey,
  ED25519_L,
  isCanonicalS,
  publicKeyFromRaw,
  publicKeyToPem,
  rawFromPem,
  rawFromPublicKey,
  signatureS,
  verifySignature,
} from './signature.ts';
export * from './text.ts';
export * from './v1/record.ts';
export { lookupZip, parseZip, type ZipPlace } from './zip.ts';
