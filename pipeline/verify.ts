/**
 * The verify stage: what can be said of one sighting without the history. The duplicate check,
 * which needs the history, is verdict.ts's.
 *
 * Order (the first that applies decides):
 *   UNREADABLE   no barcode was found (or the image could not be decoded);
 *   MALFORMED    a barcode was read but its bytes are not a valid record;
 *   UNKNOWN_KEY  the record names a key the registry does not hold;
 *   FORGED       the key is another meter's, or the signature does not verify (strictly: S < L);
 *   REVOKED_KEY  the key was revoked, or retired before the mailing date;
 *   VOIDED       the vendor refunded this indicium;
 *   (DUPLICATE   decided later, against the history)
 *   FUTURE_DATE  mailed more than one day after the scan date;
 *   STALE_DATE   mailed more than `staleDays` before the scan date;
 *   VALID.
 * `genuine` (may enter the duplicate history) is true when the signature verified under a known,
 * unrevoked key of the record's own meter: the meter and serial of anything else are an attacker's
 * choice and must never make a genuine piece look copied.
 */
import { type DecodedIndicium, dateToDays, decodeIndicium, verifyIndicium } from '../indicium/index.ts';
import type { KeyRegistry } from './registry.ts';

export const VERDICTS = [
  'VALID',
  'DUPLICATE',
  'FORGED',
  'UNKNOWN_KEY',
  'REVOKED_KEY',
  'VOIDED',
  'STALE_DATE',
  'FUTURE_DATE',
  'MALFORMED',
  'UNREADABLE',
] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface VerifyOptions {
  /** How many days before the scan date a mailing date may be. Default 10. */
  staleDays: number;
  /** Days of tolerance after the scan date (time zones, mailing after midnight). Default 1. */
  futureDays: number;
}

export const DEFAULT_VERIFY: VerifyOptions = { staleDays: 10, futureDays: 1 };

export interface ReadResult {
  outcome: 'decoded' | 'malformed' | 'unreadable';
  payload?: string | undefined;
  reason?: string | undefined;
}

export interface Judged {
  verdict: Verdict;
  reason: string;
  genuine: boolean;
  decoded?: DecodedIndicium | undefined;
}

const utcDay = (iso: string) => dateToDays(iso.slice(0, 10));

export function judge(
  read: ReadResult,
  capturedAt: string,
  registry: KeyRegistry,
  opts: VerifyOptions = DEFAULT_VERIFY,
): Judged {
  if (read.outcome === 'unreadable')
    return { verdict: 'UNREADABLE', reason: read.reason ?? 'no_barcode_found', genuine: false };
  const bytes = new Uint8Array(Buffer.from(read.payload ?? '', 'base64'));
  let decoded: DecodedIndicium;
  try {
    decoded = decodeIndicium(bytes);
  } catch (e) {
    return {
      verdict: 'MALFORMED',
      reason: (e as { reason?: string }).reason ?? read.reason ?? 'malformed',
      genuine: false,
    };
  }
  const r = decoded.record;
  const key = registry.get(decoded.keyId);
  if (!key)
    return {
      verdict: 'UNKNOWN_KEY',
      reason: `key ${decoded.keyId} is not in the registry`,
      genuine: false,
      decoded,
    };
  if (key.meter !== decoded.meter) {
    return {
      verdict: 'FORGED',
      reason: `key ${key.keyId} signs for meter ${key.meter}, not ${decoded.meter}`,
      genuine: false,
      decoded,
    };
  }
  if (!verifyIndicium(decoded, key.key))
    return { verdict: 'FORGED', reason: 'the signature does not verify', genuine: false, decoded };
  if (key.status === 'revoked') {
    return {
      verdict: 'REVOKED_KEY',
      reason: `key ${key.keyId} was revoked at ${key.revokedAt}${key.reason ? ` (${key.reason})` : ''}`,
      genuine: false,
      decoded,
    };
  }
  const mailed = dateToDays(r.mailingDate)!;
  if (key.status === 'retired' && key.validUntil && mailed > utcDay(key.validUntil)!) {
    return {
      verdict: 'REVOKED_KEY',
      reason: `key ${key.keyId} was retired at ${key.validUntil}, before the mailing date ${r.mailingDate}`,
      genuine: false,
      decoded,
    };
  }
  const voided = registry.voidedAt(decoded.meter, r.serial);
  if (voided !== undefined)
    return { verdict: 'VOIDED', reason: `refunded by the vendor at ${voided}`, genuine: true, decoded };
  const scanned = utcDay(capturedAt);
  if (scanned !== undefined && mailed > scanned + opts.futureDays) {
    return {
      verdict: 'FUTURE_DATE',
      reason: `mailing date ${r.mailingDate} is after the scan date ${capturedAt.slice(0, 10)}`,
      genuine: true,
      decoded,
    };
  }
  if (scanned !== undefined && mailed < scanned - opts.staleDays) {
    return {
      verdict: 'STALE_DATE',
      reason: `mailing date ${r.mailingDate} is more than ${opts.staleDays} days before the scan date ${capturedAt.slice(0, 10)}`,
      genuine: true,
      decoded,
    };
  }
  return { verdict: 'VALID', reason: '', genuine: true, decoded };
}

/** Verdicts that a duplicate overrides: a copy of a dated-wrong piece is still a copy. */
export const DUPLICATE_OVERRIDES: ReadonlySet<Verdict> = new Set(['VALID', 'STALE_DATE', 'FUTURE_DATE']);
