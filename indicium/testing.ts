/**
 * Test fixtures for the indicium contract: a sample record, a fast-check arbitrary over every
 * valid record, and throwaway Ed25519 keys. Imported by tests only.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { assemblePayload } from './payload.ts';
import { rawFromPublicKey } from './signature.ts';
import {
  daysToDate,
  encodeRecord,
  type IndiciumRecord,
  LIMITS,
  MAIL_CLASSES,
  type MailClass,
} from './v1/record.ts';

export function sampleRecord(over: Partial<IndiciumRecord> = {}): IndiciumRecord {
  return {
    version: 1,
    algorithm: 'ed25519',
    keyNumber: 7,
    vendor: 41,
    device: 17,
    serial: 42,
    mailingDate: '2026-12-04',
    postageCents: 78,
    mailClass: 'letter',
    weightTenthsOz: 10,
    origin: { zip5: '78703', plus4: '1234' },
    destination: { zip5: '10001' },
    ascendingCents: 12_345,
    softwareId: 1,
    ...over,
  };
}

const int = (r: { min: number; max: number }) => fc.integer({ min: r.min, max: r.max });
const zip = fc.record({
  zip5: int(LIMITS.zip5).map((n) => String(n).padStart(5, '0')),
  plus4: fc.option(
    int(LIMITS.plus4).map((n) => String(n).padStart(4, '0')),
    { nil: undefined },
  ),
});

export const recordArb: fc.Arbitrary<IndiciumRecord> = fc
  .record({
    keyNumber: int(LIMITS.keyNumber),
    vendor: int(LIMITS.vendor),
    device: int(LIMITS.device),
    serial: int(LIMITS.serial),
    days: int(LIMITS.dateDays),
    postageCents: int(LIMITS.postageCents),
    mailClass: fc.constantFrom(...(Object.keys(MAIL_CLASSES) as MailClass[])),
    weightTenthsOz: int(LIMITS.weightTenthsOz),
    origin: zip,
    destination: fc.option(zip, { nil: undefined }),
    extra: fc.integer({ min: 0, max: LIMITS.ascendingCents.max - LIMITS.postageCents.max }),
    softwareId: int(LIMITS.softwareId),
  })
  .map(({ days, extra, ...r }) => ({
    version: 1 as const,
    algorithm: 'ed25519' as const,
    ...r,
    mailingDate: daysToDate(days),
    ascendingCents: r.postageCents + extra,
  }));

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  raw: Uint8Array;
}

export function newTestKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, raw: rawFromPublicKey(publicKey) };
}

export function signedPayload(record: IndiciumRecord, key: TestKey): Uint8Array {
  const bytes = encodeRecord(record);
  return assemblePayload(bytes, new Uint8Array(sign(null, bytes, key.privateKey)));
}
