/**
 * The read stage's work on one image: image bytes -> luminance -> barcode -> strict decode.
 * CPU-bound; runs in worker threads (pool.ts), one image at a time per thread.
 *
 * Where to look, cheapest first:
 *   1. the upper-right area, where the indicium is printed: only that part of the JPEG is decoded;
 *   2. the whole image: a piece faced the wrong way (rotated 180 degrees) carries its indicium at
 *      the lower left, and zxing reads a symbol in any orientation; so does an off-position label.
 * PDF417 first, then Data Matrix. A failure is a result (unreadable, malformed), never a throw,
 * except for a fault in the machinery itself.
 */
import sharp, { type Metadata, type Region } from 'sharp';
import { type ReadHit, type ReadOptions, readGrey } from '../../indicium/barcode/index.ts';
import { type DecodedIndicium, tryDecodeIndicium } from '../../indicium/index.ts';
import type { ReadMessage } from '../messages.ts';

export interface ReadLimits {
  /** Largest image accepted, in pixels (width x height): a decompression bomb is refused. */
  maxPixels: number;
  /** Another cascade of attempts than ATTEMPTS (the benchmark compares several). */
  attempts?: Attempt[] | undefined;
}

export const DEFAULT_LIMITS: ReadLimits = { maxPixels: 40_000_000 };

/** The upper-right area, as fractions of the image: right half, top 45%. */
export const INDICIUM_AREA = { left: 0.5, top: 0, width: 0.5, height: 0.45 };

/** Where to look: the indicium area, the same area of a piece faced the wrong way, everything. */
export type Area = 'indicium-area' | 'flipped-area' | 'whole';
const AREAS: Record<Exclude<Area, 'whole'>, typeof INDICIUM_AREA> = {
  'indicium-area': INDICIUM_AREA,
  // Turned 180 degrees, the upper-right corner is at the lower left.
  'flipped-area': {
    left: 0,
    top: 1 - INDICIUM_AREA.height,
    width: INDICIUM_AREA.width,
    height: INDICIUM_AREA.height,
  },
};

export type ReadOutcome =
  | {
      outcome: 'decoded';
      payload: Uint8Array;
      symbology: ReadHit['symbology'];
      region: Area;
      meter: string;
      serial: number;
      timings: ReadTimings;
    }
  | {
      outcome: 'malformed';
      payload: Uint8Array;
      symbology: ReadHit['symbology'];
      reason: string;
      timings: ReadTimings;
    }
  | { outcome: 'unreadable'; reason: string; timings: ReadTimings };

export interface ReadTimings {
  /** Image decoding (sharp), milliseconds. */
  image_ms: number;
  /** Barcode detection and decoding (zxing), milliseconds. */
  barcode_ms: number;
}

export interface Attempt {
  region: Area;
  zxing: ReadOptions;
  /** Turn the region by this many degrees first (a piece skewed on the belt). */
  deskew?: number;
}

/**
 * The attempts, cheapest first; each runs only if those before it found nothing. A clean piece is
 * read by the first (PDF417 in the upper-right area, no extra effort, about 1 ms); a piece faced
 * the wrong way (180 degrees) by the second (the lower-left area). A damaged piece earns more
 * effort on both areas (both symbologies, tryHarder, then global and fixed thresholds); then the
 * whole image (a label out of place); a piece turned by 5 to 10 degrees, the last ones (the area
 * turned back). Benchmarked in bench/pipeline.ts against single-pass settings.
 */
const HARD: ReadOptions = {
  formats: ['pdf417', 'datamatrix'],
  tryHarder: true,
  tryRotate: true,
  tryDownscale: false,
};
const PDF417_HARD: ReadOptions = { ...HARD, formats: ['pdf417'] };
const FAST: ReadOptions = { formats: ['pdf417'], tryHarder: false, tryRotate: false, tryDownscale: false };
/** The harder attempts on one area: more effort, other binarisers, then turned back (de-skew). */
const harder = (region: Exclude<Area, 'whole'>): Attempt[] => [
  { region, zxing: HARD },
  // Noise on faded ink defeats the local-average binariser; a global threshold often still reads.
  { region, zxing: { ...PDF417_HARD, binarizer: 'GlobalHistogram' } },
  { region, zxing: { ...PDF417_HARD, binarizer: 'FixedThreshold' } },
];
const deskewed = (region: Exclude<Area, 'whole'>): Attempt[] =>
  // A piece turned on the belt by more than PDF417's tolerance (Data Matrix reads at any angle).
  [-5, 5, -9, 9].flatMap((deskew) => [
    { region, zxing: PDF417_HARD, deskew },
    { region, zxing: { ...PDF417_HARD, binarizer: 'GlobalHistogram' as const }, deskew },
  ]);
export const ATTEMPTS: Attempt[] = [
  { region: 'indicium-area', zxing: FAST },
  { region: 'flipped-area', zxing: { ...FAST, tryRotate: true } },
  ...harder('indicium-area'),
  ...harder('flipped-area'),
  { region: 'whole', zxing: HARD },
  ...deskewed('indicium-area'),
  ...deskewed('flipped-area'),
];

function outcomeOf(hit: ReadHit, region: Area, timings: ReadTimings): ReadOutcome {
  const d = tryDecodeIndicium(hit.bytes);
  if (!d.ok)
    return {
      outcome: 'malformed',
      payload: hit.bytes,
      symbology: hit.symbology,
      reason: d.error.reason,
      timings,
    };
  const v: DecodedIndicium = d.value;
  return {
    outcome: 'decoded',
    payload: hit.bytes,
    symbology: hit.symbology,
    region,
    meter: v.meter,
    serial: v.record.serial,
    timings,
  };
}

export async function readScan(image: Uint8Array, limits: ReadLimits = DEFAULT_LIMITS): Promise<ReadOutcome> {
  const timings: ReadTimings = { image_ms: 0, barcode_ms: 0 };
  let t = performance.now();
  const lap = (k: keyof ReadTimings) => {
    const now = performance.now();
    timings[k] += now - t;
    t = now;
  };
  let meta: Metadata;
  try {
    meta = await sharp(image, { limitInputPixels: limits.maxPixels }).metadata();
  } catch (e) {
    return { outcome: 'unreadable', reason: `image_unreadable: ${(e as Error).message}`, timings };
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!width || !height) return { outcome: 'unreadable', reason: 'image_unreadable: no dimensions', timings };
  if (width * height > limits.maxPixels) {
    return {
      outcome: 'unreadable',
      reason: `image_too_large: ${width}x${height} exceeds ${limits.maxPixels} pixels`,
      timings,
    };
  }
  /** Decode (part of) the image to luminance; a corrupt image is a result, not a fault. */
  const grey = async (area?: Region) => {
    try {
      let p = sharp(image, { limitInputPixels: limits.maxPixels, failOn: 'none' });
      if (area) p = p.extract(area);
      const r = await p.greyscale().raw().toBuffer({ resolveWithObject: true });
      return { data: r.data, width: r.info.width, height: r.info.height };
    } catch (e) {
      return { error: `image_unreadable: ${(e as Error).message}` };
    } finally {
      lap('image_ms');
    }
  };

  // The decoded luminance of each region, made once, on first need.
  const regions: Partial<Record<Attempt['region'], Awaited<ReturnType<typeof grey>>>> = {};
  for (const attempt of limits.attempts ?? ATTEMPTS) {
    let img = regions[attempt.region];
    if (!img) {
      const a = attempt.region === 'whole' ? undefined : AREAS[attempt.region];
      img = await grey(
        a && {
          left: Math.floor(width * a.left),
          top: Math.floor(height * a.top),
          width: Math.floor(width * a.width),
          height: Math.floor(height * a.height),
        },
      );
      regions[attempt.region] = img;
    }
    if ('error' in img) return { outcome: 'unreadable', reason: img.error!, timings };
    let view: { data: Uint8Array; width: number; height: number } = img;
    if (attempt.deskew) {
      // A turned piece: turn the area back before reading (PDF417 rows tolerate about 4 degrees).
      const r = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
        .rotate(attempt.deskew, { background: '#fff' })
        .extractChannel(0)
        .raw()
        .toBuffer({ resolveWithObject: true });
      view = { data: r.data, width: r.info.width, height: r.info.height };
      lap('image_ms');
    }
    const hits = await readGrey(view.data, view.width, view.height, attempt.zxing);
    lap('barcode_ms');
    if (hits[0]) return outcomeOf(hits[0], attempt.region, timings);
  }
  return { outcome: 'unreadable', reason: 'no_barcode_found', timings };
}

/** The `scans.read` message for a scan and its read outcome (MESSAGES.md). */
export function readMessage(
  scan: { scan_id: string; plant: string; machine: string; captured_at: string },
  r: ReadOutcome,
  times: { queued_at: string; read_at: string; queue_ms: number },
): ReadMessage {
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    v: 1,
    ...scan,
    queued_at: times.queued_at,
    read_at: times.read_at,
    outcome: r.outcome,
    symbology: 'symbology' in r ? r.symbology : undefined,
    region: r.outcome === 'decoded' ? r.region : undefined,
    payload: 'payload' in r ? Buffer.from(r.payload).toString('base64') : undefined,
    reason: 'reason' in r ? r.reason : undefined,
    meter: r.outcome === 'decoded' ? r.meter : undefined,
    serial: r.outcome === 'decoded' ? r.serial : undefined,
    timings: {
      queue_ms: times.queue_ms,
      image_ms: round(r.timings.image_ms),
      barcode_ms: round(r.timings.barcode_ms),
    },
  };
}
