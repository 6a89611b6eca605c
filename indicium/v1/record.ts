/**
 * Indicium record format v1: the fixed 39-byte layout in FORMAT.md, and its one canonical encoding.
 * `encodeRecord` and `decodeRecord` are exact inverses on every valid record; the decoder accepts
 * nothing else (exact length, known version and algorithm, reserved bits zero, every field in range).
 */
import { MalformedIndicium } from '../errors.ts';

export const VERSION = 1;
export const RECORD_LENGTH = 39;
export const SIGNATURE_LENGTH = 64;
export const PAYLOAD_LENGTH = RECORD_LENGTH + SIGNATURE_LENGTH;

/** Signature algorithm ids (byte 1). Only pure Ed25519 (RFC 8032) is defined in v1. */
export const ALGORITHMS = { ed25519: 1 } as const;
export type Algorithm = keyof typeof ALGORITHMS;

/** Mail class codes (byte 20). The rate table prices these; the record carries the code. */
export const MAIL_CLASSES = {
  letter: 1,
  postcard: 2,
  flat: 3,
  parcel: 4,
  priority: 5,
} as const;
export type MailClass = keyof typeof MAIL_CLASSES;
const CLASS_BY_CODE = new Map<number, MailClass>(
  Object.entries(MAIL_CLASSES).map(([name, code]) => [code, name as MailClass]),
);
export const isMailClass = (s: string): s is MailClass => Object.hasOwn(MAIL_CLASSES, s);

export const LIMITS = {
  vendor: { min: 1, max: 99 },
  device: { min: 1, max: 99_999_999 },
  serial: { min: 1, max: 0xffff_ffff },
  /** Days since 2000-01-01: 2020-01-01 .. 2099-12-31. */
  dateDays: { min: 7305, max: 36524 },
  postageCents: { min: 1, max: 999_999 },
  /** Tenths of an ounce: 0.1 oz .. 70 lb. */
  weightTenthsOz: { min: 1, max: 11_200 },
  zip5: { min: 501, max: 99_999 },
  plus4: { min: 0, max: 9_999 },
  /** Cents, 5 bytes. */
  ascendingCents: { min: 1, max: 2 ** 40 - 1 },
  softwareId: { min: 1, max: 0xffff },
  keyNumber: { min: 1, max: 0xffff_ffff },
} as const;

const FLAG_ORIGIN_PLUS4 = 0b001;
const FLAG_DEST = 0b010;
const FLAG_DEST_PLUS4 = 0b100;
const FLAGS_DEFINED = FLAG_ORIGIN_PLUS4 | FLAG_DEST | FLAG_DEST_PLUS4;

export interface Zip {
  /** Five digits, e.g. "78703". */
  zip5: string;
  /** Four digits, or undefined when the +4 is not known. */
  plus4?: string | undefined;
}

export interface IndiciumRecord {
  version: 1;
  algorithm: Algorithm;
  /** Key number, unique within the vendor; the key id string is `keyIdString(vendor, keyNumber)`. */
  keyNumber: number;
  vendor: number;
  device: number;
  serial: number;
  /** YYYY-MM-DD (the date of mailing, in the mailer's calendar). */
  mailingDate: string;
  postageCents: number;
  mailClass: MailClass;
  weightTenthsOz: number;
  origin: Zip;
  destination?: Zip | undefined;
  /** Ascending register (total postage dispensed by the meter) after this piece, in cents. */
  ascendingCents: number;
  softwareId: number;
}

/** Meter number: 2-digit vendor id + 8-digit device number, e.g. "4100000017". */
export function meterString(vendor: number, device: number): string {
  return String(vendor).padStart(2, '0') + String(device).padStart(8, '0');
}

const METER_RE = /^(\d{2})(\d{8})$/;
export function parseMeter(meter: string): { vendor: number; device: number } | undefined {
  const m = METER_RE.exec(meter);
  if (!m) return undefined;
  const vendor = Number(m[1]);
  const device = Number(m[2]);
  if (!inRange(vendor, LIMITS.vendor) || !inRange(device, LIMITS.device)) return undefined;
  return { vendor, device };
}

/** Key id string: vendor and key number, e.g. "41-0000001a". Unique across vendors. */
export function keyIdString(vendor: number, keyNumber: number): string {
  return `${String(vendor).padStart(2, '0')}-${keyNumber.toString(16).padStart(8, '0')}`;
}

const KEY_ID_RE = /^(\d{2})-([0-9a-f]{8})$/;
export function parseKeyId(keyId: string): { vendor: number; keyNumber: number } | undefined {
  const m = KEY_ID_RE.exec(keyId);
  if (!m) return undefined;
  const vendor = Number(m[1]);
  const keyNumber = Number.parseInt(m[2]!, 16);
  if (!inRange(vendor, LIMITS.vendor) || !inRange(keyNumber, LIMITS.keyNumber)) return undefined;
  return { vendor, keyNumber };
}

const DAY_MS = 86_400_000;
const EPOCH_MS = Date.UTC(2000, 0, 1);
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 2000-01-01 for a YYYY-MM-DD calendar date, or undefined if it is not a real date. */
export function dateToDays(date: string): number | undefined {
  const m = DATE_RE.exec(date);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return undefined;
  return Math.round((ms - EPOCH_MS) / DAY_MS);
}

export function daysToDate(days: number): string {
  return new Date(EPOCH_MS + days * DAY_MS).toISOString().slice(0, 10);
}

function inRange(n: number, r: { min: number; max: number }): boolean {
  return Number.isSafeInteger(n) && n >= r.min && n <= r.max;
}

function zipToInt(z: Zip): number {
  return Number(z.zip5) * 10_000 + (z.plus4 === undefined ? 0 : Number(z.plus4));
}

const ZIP5_RE = /^\d{5}$/;
const PLUS4_RE = /^\d{4}$/;
function validZip(z: Zip | undefined): boolean {
  if (!z || !ZIP5_RE.test(z.zip5) || !inRange(Number(z.zip5), LIMITS.zip5)) return false;
  return z.plus4 === undefined || PLUS4_RE.test(z.plus4);
}

/**
 * The field checks shared by encoder and decoder, so that what one writes the other reads.
 * Returns the first violation, or undefined.
 */
export function checkRecord(r: IndiciumRecord): MalformedIndicium | undefined {
  const bad = (reason: ConstructorParameters<typeof MalformedIndicium>[0], detail: string) =>
    new MalformedIndicium(reason, detail);
  if (r.version !== VERSION) return bad('version', `version ${r.version} is not ${VERSION}`);
  if (!Object.hasOwn(ALGORITHMS, r.algorithm)) return bad('algorithm', `unknown algorithm ${r.algorithm}`);
  if (!inRange(r.keyNumber, LIMITS.keyNumber)) return bad('key_id', `key number ${r.keyNumber} out of range`);
  if (!inRange(r.vendor, LIMITS.vendor)) return bad('vendor', `vendor ${r.vendor} out of range`);
  if (!inRange(r.device, LIMITS.device)) return bad('device', `device ${r.device} out of range`);
  if (!inRange(r.serial, LIMITS.serial)) return bad('serial', `serial ${r.serial} out of range`);
  const days = dateToDays(r.mailingDate);
  if (days === undefined || !inRange(days, LIMITS.dateDays))
    return bad('date', `date ${r.mailingDate} out of range`);
  if (!inRange(r.postageCents, LIMITS.postageCents))
    return bad('postage', `postage ${r.postageCents} out of range`);
  if (!isMailClass(r.mailClass)) return bad('mail_class', `unknown mail class ${r.mailClass}`);
  if (!inRange(r.weightTenthsOz, LIMITS.weightTenthsOz))
    return bad('weight', `weight ${r.weightTenthsOz} out of range`);
  if (!validZip(r.origin)) return bad('origin_zip', 'origin ZIP out of range');
  if (r.destination !== undefined && !validZip(r.destination))
    return bad('destination_zip', 'destination ZIP out of range');
  if (!inRange(r.ascendingCents, LIMITS.ascendingCents) || r.ascendingCents < r.postageCents)
    return bad(
      'ascending_register',
      `ascending register ${r.ascendingCents} is below the postage or out of range`,
    );
  if (!inRange(r.softwareId, LIMITS.softwareId))
    return bad('software_id', `software id ${r.softwareId} out of range`);
  return undefined;
}

/** The canonical 39 bytes of a record. Throws MalformedIndicium if a field is out of range. */
export function encodeRecord(r: IndiciumRecord): Uint8Array {
  const err = checkRecord(r);
  if (err) throw err;
  const out = new Uint8Array(RECORD_LENGTH);
  const v = new DataView(out.buffer);
  v.setUint8(0, VERSION);
  v.setUint8(1, ALGORITHMS[r.algorithm]);
  v.setUint32(2, r.keyNumber);
  v.setUint8(6, r.vendor);
  v.setUint32(7, r.device);
  v.setUint32(11, r.serial);
  v.setUint16(15, dateToDays(r.mailingDate)!);
  setUint24(v, 17, r.postageCents);
  v.setUint8(20, MAIL_CLASSES[r.mailClass]);
  v.setUint16(21, r.weightTenthsOz);
  v.setUint32(23, zipToInt(r.origin));
  v.setUint32(27, r.destination ? zipToInt(r.destination) : 0);
  setUint40(v, 31, r.ascendingCents);
  v.setUint16(36, r.softwareId);
  let flags = 0;
  if (r.origin.plus4 !== undefined) flags |= FLAG_ORIGIN_PLUS4;
  if (r.destination) {
    flags |= FLAG_DEST;
    if (r.destination.plus4 !== undefined) flags |= FLAG_DEST_PLUS4;
  }
  v.setUint8(38, flags);
  return out;
}

/** Parse exactly 39 bytes. Throws MalformedIndicium (and nothing else) on any deviation. */
export function decodeRecord(bytes: Uint8Array): IndiciumRecord {
  if (!(bytes instanceof Uint8Array)) throw new MalformedIndicium('not_bytes', 'input is not a byte array');
  if (bytes.length !== RECORD_LENGTH)
    throw new MalformedIndicium('length', `record is ${bytes.length} bytes, expected ${RECORD_LENGTH}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint8(0);
  if (version !== VERSION) throw new MalformedIndicium('version', `unknown version ${version}`);
  const algCode = v.getUint8(1);
  const algorithm = algCode === ALGORITHMS.ed25519 ? 'ed25519' : undefined;
  if (!algorithm) throw new MalformedIndicium('algorithm', `unknown signature algorithm ${algCode}`);
  const flags = v.getUint8(38);
  if ((flags & ~FLAGS_DEFINED) !== 0)
    throw new MalformedIndicium('reserved_bits', `flags 0x${flags.toString(16)}`);
  const days = v.getUint16(15);
  if (!inRange(days, LIMITS.dateDays))
    throw new MalformedIndicium('date', `date ${daysToDate(days)} out of range`);
  const classCode = v.getUint8(20);
  const mailClass = CLASS_BY_CODE.get(classCode);
  if (!mailClass) throw new MalformedIndicium('mail_class', `unknown mail class code ${classCode}`);

  const origin = intToZip(v.getUint32(23), (flags & FLAG_ORIGIN_PLUS4) !== 0, 'origin_zip');
  const destInt = v.getUint32(27);
  let destination: Zip | undefined;
  if (flags & FLAG_DEST) {
    destination = intToZip(destInt, (flags & FLAG_DEST_PLUS4) !== 0, 'destination_zip');
  } else if (destInt !== 0 || flags & FLAG_DEST_PLUS4) {
    throw new MalformedIndicium('destination_zip', 'destination bytes set without the destination flag');
  }

  const record: IndiciumRecord = {
    version: VERSION,
    algorithm,
    keyNumber: v.getUint32(2),
    vendor: v.getUint8(6),
    device: v.getUint32(7),
    serial: v.getUint32(11),
    mailingDate: daysToDate(days),
    postageCents: getUint24(v, 17),
    mailClass,
    weightTenthsOz: v.getUint16(21),
    origin,
    destination,
    ascendingCents: getUint40(v, 31),
    softwareId: v.getUint16(36),
  };
  const err = checkRecord(record);
  if (err) throw err;
  return record;
}

function intToZip(n: number, hasPlus4: boolean, reason: 'origin_zip' | 'destination_zip'): Zip {
  const zip5 = Math.floor(n / 10_000);
  const plus4 = n % 10_000;
  if (!inRange(zip5, LIMITS.zip5)) throw new MalformedIndicium(reason, `ZIP ${zip5} out of range`);
  if (!hasPlus4 && plus4 !== 0) throw new MalformedIndicium(reason, '+4 digits set without the +4 flag');
  return {
    zip5: String(zip5).padStart(5, '0'),
    plus4: hasPlus4 ? String(plus4).padStart(4, '0') : undefined,
  };
}

function setUint24(v: DataView, off: number, n: number): void {
  v.setUint8(off, (n >>> 16) & 0xff);
  v.setUint16(off + 1, n & 0xffff);
}
function getUint24(v: DataView, off: number): number {
  return (v.getUint8(off) << 16) | v.getUint16(off + 1);
}
function setUint40(v: DataView, off: number, n: number): void {
  v.setUint8(off, Math.floor(n / 2 ** 32));
  v.setUint32(off + 1, n % 2 ** 32);
}
function getUint40(v: DataView, off: number): number {
  return v.getUint8(off) * 2 ** 32 + v.getUint32(off + 1);
}
