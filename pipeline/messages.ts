/**
 * The pipeline's messages (documented in MESSAGES.md). Topics, the scan headers, and the JSON of
 * `scans.read` and `verdicts`. Types plus the checks a consumer applies on receipt.
 */
import { type Static, Type } from '@sinclair/typebox';
import { VERDICTS } from './verify.ts';

export const TOPICS = {
  scans: 'scans',
  read: 'scans.read',
  verdicts: 'verdicts',
  dead: 'scans.dead',
  events: 'indicia.events',
} as const;
export type Topics = { [K in keyof typeof TOPICS]: string };

/** Topic names under a prefix (one Kafka cluster, several pipelines; tests use one each). */
export function topics(prefix = ''): Topics {
  return Object.fromEntries(Object.entries(TOPICS).map(([k, v]) => [k, prefix + v])) as Topics;
}

export const CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/tiff'] as const;

/** Headers of a `scans` message: who saw the piece, where and when. */
export interface ScanHeaders {
  scan_id: string;
  plant: string;
  machine: string;
  /** RFC 3339. */
  captured_at: string;
  content_type: (typeof CONTENT_TYPES)[number];
  /** `base64` when the value is the image in base64 text (text-only producers, e.g. Kafka's ConsoleProducer). */
  content_encoding?: 'base64' | undefined;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const ID = /^[\x21-\x7e]{1,128}$/;

/** The headers of a scan, or why the message cannot be processed at all (-> scans.dead). */
export function parseScanHeaders(h: Record<string, string | undefined>): ScanHeaders | { dead: string } {
  for (const k of ['scan_id', 'plant', 'machine', 'captured_at', 'content_type'] as const) {
    if (!h[k]) return { dead: `missing_header:${k}` };
  }
  if (!ID.test(h.scan_id!)) return { dead: 'bad_header:scan_id' };
  if (!ID.test(h.plant!) || !ID.test(h.machine!)) return { dead: 'bad_header:plant_or_machine' };
  if (!RFC3339.test(h.captured_at!) || Number.isNaN(Date.parse(h.captured_at!)))
    return { dead: 'bad_header:captured_at' };
  const ct = h.content_type!.split(';')[0]!.trim().toLowerCase();
  if (!(CONTENT_TYPES as readonly string[]).includes(ct)) return { dead: `unsupported_content_type:${ct}` };
  const enc = h.content_encoding?.trim().toLowerCase();
  if (enc && enc !== 'base64' && enc !== 'identity') return { dead: `unsupported_content_encoding:${enc}` };
  return {
    ...(enc === 'base64' ? { content_encoding: 'base64' as const } : {}),
    scan_id: h.scan_id!,
    plant: h.plant!,
    machine: h.machine!,
    captured_at: new Date(h.captured_at!).toISOString(),
    content_type: ct as ScanHeaders['content_type'],
  };
}

/** `scans.read` value: the read stage's result, keyed by meter (or by scan id when none was read). */
export interface ReadMessage {
  v: 1;
  scan_id: string;
  plant: string;
  machine: string;
  captured_at: string;
  /** When the scan was produced to Kafka (the message timestamp), ISO. */
  queued_at: string;
  read_at: string;
  outcome: 'decoded' | 'malformed' | 'unreadable';
  symbology?: string | undefined;
  region?: string | undefined;
  /** base64 of the barcode's bytes (decoded or malformed). */
  payload?: string | undefined;
  reason?: string | undefined;
  meter?: string | undefined;
  serial?: number | undefined;
  timings: { queue_ms: number; image_ms: number; barcode_ms: number };
}

const NullableString = Type.Union([Type.String(), Type.Null()]);

/**
 * `verdicts` value: one per scan, for the sorter's diverter. The schema is published as
 * pipeline/schemas/verdict.schema.json (a test keeps the file equal to this).
 */
export const VerdictSchema = Type.Object(
  {
    v: Type.Literal(1),
    scan_id: Type.String({ minLength: 1, maxLength: 128 }),
    plant: Type.String(),
    machine: Type.String(),
    captured_at: Type.String({ format: 'date-time' }),
    verdict: Type.Union(VERDICTS.map((v) => Type.Literal(v))),
    reason: Type.String(),
    meter: Type.Union([Type.String({ pattern: '^\\d{10}$' }), Type.Null()]),
    serial: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    key_id: NullableString,
    postage_cents: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    mailing_date: Type.Union([Type.String({ format: 'date' }), Type.Null()]),
    first: Type.Union(
      [
        Type.Object(
          { scan_id: Type.String(), plant: Type.String(), captured_at: Type.String({ format: 'date-time' }) },
          { additionalProperties: false },
        ),
        Type.Null(),
      ],
      { description: 'For a DUPLICATE: the first genuine sighting of this indicium.' },
    ),
    decided_at: Type.String({ format: 'date-time' }),
  },
  {
    $id: 'https://sigpost.invalid/schemas/verdict.schema.json',
    title: 'sigpost verdict',
    additionalProperties: false,
  },
);
export type VerdictMessage = Static<typeof VerdictSchema>;

export function parseReadMessage(value: Buffer): ReadMessage | { dead: string } {
  let m: ReadMessage;
  try {
    m = JSON.parse(value.toString('utf8')) as ReadMessage;
  } catch {
    return { dead: 'not_json' };
  }
  if (
    m?.v !== 1 ||
    typeof m.scan_id !== 'string' ||
    !['decoded', 'malformed', 'unreadable'].includes(m.outcome)
  ) {
    return { dead: 'not_a_read_message' };
  }
  return m;
}
