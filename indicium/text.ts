/**
 * The human-readable block printed beside the barcode: what a postal clerk or a mailer reads.
 * The record carries the origin ZIP; the city and state come from the ZIP table (or the caller).
 */
import { type IndiciumRecord, keyIdString, meterString } from './v1/record.ts';
import { lookupZip } from './zip.ts';

export const CLASS_LABELS: Record<IndiciumRecord['mailClass'], string> = {
  letter: 'FIRST-CLASS MAIL LETTER',
  postcard: 'FIRST-CLASS MAIL POSTCARD',
  flat: 'FIRST-CLASS MAIL LARGE ENVELOPE',
  parcel: 'GROUND ADVANTAGE',
  priority: 'PRIORITY MAIL',
};

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

export function formatCents(cents: number): string {
  return `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** "2026-12-04" -> "DEC 04 2026", the way meter imprints print dates. */
export function formatMailingDate(date: string): string {
  const [y, m, d] = date.split('-');
  return `${MONTHS[Number(m) - 1]} ${d} ${y}`;
}

export function formatZip(z: { zip5: string; plus4?: string | undefined }): string {
  return z.plus4 ? `${z.zip5}-${z.plus4}` : z.zip5;
}

export function formatWeight(tenthsOz: number): string {
  if (tenthsOz >= 160) {
    const lb = Math.floor(tenthsOz / 160);
    const oz = (tenthsOz % 160) / 10;
    return oz ? `${lb} LB ${oz} OZ` : `${lb} LB`;
  }
  return `${tenthsOz / 10} OZ`;
}

export interface HumanReadable {
  postage: string;
  mailClass: string;
  weight: string;
  origin: string;
  date: string;
  meter: string;
  serial: string;
  keyId: string;
  destination?: string | undefined;
  /** The block as printed, top to bottom. */
  lines: string[];
}

export function humanReadable(
  r: IndiciumRecord,
  place?: { city: string; state: string } | undefined,
): HumanReadable {
  const where = place ?? lookupZip(r.origin.zip5);
  const origin = `${where ? `${where.city.toUpperCase()} ${where.state} ` : ''}${formatZip(r.origin)}`;
  const hr: HumanReadable = {
    postage: formatCents(r.postageCents),
    mailClass: CLASS_LABELS[r.mailClass],
    weight: formatWeight(r.weightTenthsOz),
    origin,
    date: formatMailingDate(r.mailingDate),
    meter: meterString(r.vendor, r.device),
    serial: String(r.serial).padStart(9, '0'),
    keyId: keyIdString(r.vendor, r.keyNumber),
    destination: r.destination ? formatZip(r.destination) : undefined,
    lines: [],
  };
  hr.lines = [
    `US POSTAGE ${hr.postage}`,
    `${hr.mailClass} ${hr.weight}`,
    `FROM ${hr.origin}`,
    `MAILED ${hr.date}`,
    `METER ${hr.meter} SERIAL ${hr.serial}`,
    ...(hr.destination ? [`TO ZIP ${hr.destination}`] : []),
  ];
  return hr;
}
