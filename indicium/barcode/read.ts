/**
 * Barcode reading with zxing-wasm: from encoded image bytes (PNG, JPEG, ...) or from raw 8-bit
 * greyscale. Greyscale goes straight into the WASM heap (no RGBA detour), optionally only a region
 * of it. A decode blocks its thread for milliseconds: call this from worker threads on hot paths.
 */
import {
  BINARIZERS,
  type Binarizer,
  CHARACTER_SETS,
  EAN_ADD_ON_SYMBOLS,
  encodeFormats,
  type ReadResult,
  readBarcodes,
  TEXT_MODES,
  type ZXingReaderOptions,
} from 'zxing-wasm';
import type { Symbology } from './write.ts';
import { zxingModule } from './zxing.ts';

export interface ReadOptions {
  /** Symbologies to look for, in order of preference. Default: PDF417, then Data Matrix. */
  formats?: Symbology[];
  tryHarder?: boolean;
  tryRotate?: boolean;
  tryInvert?: boolean;
  tryDownscale?: boolean;
  /** Downscale images whose larger side exceeds this many pixels (zxing default 500). */
  downscaleThreshold?: number;
  downscaleFactor?: number;
  binarizer?: Binarizer;
  /** The image is a clean, unrotated symbol with a quiet zone (fast path). */
  isPure?: boolean;
  maxNumberOfSymbols?: number;
}

export interface ReadHit {
  symbology: Symbology;
  bytes: Uint8Array;
  /** Clockwise rotation of the symbol in degrees, as zxing reports it. */
  orientation: number;
  /** Corners in image pixels (of the region read, offset back into the full image). */
  position: { topLeft: Pt; topRight: Pt; bottomRight: Pt; bottomLeft: Pt };
}
type Pt = { x: number; y: number };

export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

const FORMAT_NAMES: Record<Symbology, 'PDF417' | 'DataMatrix'> = {
  pdf417: 'PDF417',
  datamatrix: 'DataMatrix',
};

function fullOptions(o: ReadOptions) {
  return {
    formats: (o.formats ?? ['pdf417', 'datamatrix']).map((f) => FORMAT_NAMES[f]),
    tryHarder: o.tryHarder ?? true,
    tryRotate: o.tryRotate ?? true,
    tryInvert: o.tryInvert ?? false,
    tryDownscale: o.tryDownscale ?? true,
    tryDenoise: false,
    binarizer: o.binarizer ?? ('LocalAverage' as Binarizer),
    isPure: o.isPure ?? false,
    downscaleThreshold: o.downscaleThreshold ?? 500,
    downscaleFactor: o.downscaleFactor ?? 3,
    minLineCount: 2,
    maxNumberOfSymbols: o.maxNumberOfSymbols ?? 1,
    validateOptionalChecksum: false,
    returnErrors: false,
    eanAddOnSymbol: 'Ignore' as const,
    textMode: 'Plain' as const,
    characterSet: 'BINARY' as const,
  };
}

/** zxing-wasm's internal option encoding, rebuilt from its public tables (zxing-wasm is pinned). */
function zxingOptions(o: ReadOptions): ZXingReaderOptions {
  const f = fullOptions(o);
  return {
    ...f,
    formats: encodeFormats(f.formats),
    binarizer: BINARIZERS.indexOf(f.binarizer),
    eanAddOnSymbol: EAN_ADD_ON_SYMBOLS.indexOf(f.eanAddOnSymbol),
    textMode: TEXT_MODES.indexOf(f.textMode),
    characterSet: CHARACTER_SETS.indexOf(f.characterSet),
    tryCode39ExtendedMode: false,
  } as ZXingReaderOptions;
}

function toHit(
  r: Pick<ReadResult, 'format' | 'bytes' | 'orientation' | 'position'>,
  dx = 0,
  dy = 0,
): ReadHit {
  const p = r.position;
  const sh = (q: Pt) => ({ x: q.x + dx, y: q.y + dy });
  return {
    symbology: r.format === 'PDF417' ? 'pdf417' : 'datamatrix',
    bytes: new Uint8Array(r.bytes),
    orientation: r.orientation,
    position: {
      topLeft: sh(p.topLeft),
      topRight: sh(p.topRight),
      bottomRight: sh(p.bottomRight),
      bottomLeft: sh(p.bottomLeft),
    },
  };
}

/** Read from encoded image bytes (PNG, JPEG, BMP, GIF), decoded by zxing-wasm itself. */
export async function readImage(image: Uint8Array, opts: ReadOptions = {}): Promise<ReadHit[]> {
  await zxingModule();
  const results = await readBarcodes(image, fullOptions(opts));
  return results.filter((r) => r.isValid).map((r) => toHit(r));
}

/** Read from 8-bit greyscale pixels (row-major, `width` bytes per row), optionally one region. */
export async function readGrey(
  lum: Uint8Array,
  width: number,
  height: number,
  opts: ReadOptions & { region?: Region } = {},
): Promise<ReadHit[]> {
  if (lum.length < width * height) throw new RangeError('greyscale buffer is smaller than width x height');
  const r = opts.region ?? { left: 0, top: 0, width, height };
  if (
    r.left < 0 ||
    r.top < 0 ||
    r.width <= 0 ||
    r.height <= 0 ||
    r.left + r.width > width ||
    r.top + r.height > height
  ) {
    throw new RangeError('region lies outside the image');
  }
  const mod = await zxingModule();
  const size = r.width * r.height;
  const ptr = mod._malloc(size);
  if (!ptr) throw new Error(`zxing: cannot allocate ${size} bytes`);
  try {
    if (r.left === 0 && r.width === width) {
      mod.HEAPU8.set(lum.subarray(r.top * width, (r.top + r.height) * width), ptr);
    } else {
      for (let y = 0; y < r.height; y++) {
        const src = (r.top + y) * width + r.left;
        mod.HEAPU8.set(lum.subarray(src, src + r.width), ptr + y * r.width);
      }
    }
    const vec = mod.readBarcodesFromPixmap(ptr, r.width, r.height, zxingOptions(opts));
    try {
      const hits: ReadHit[] = [];
      for (let i = 0; i < vec.size(); i++) {
        const res = vec.get(i) as unknown as ReadResult & { rotation: number };
        if (res.isValid) hits.push(toHit({ ...res, orientation: res.rotation }, r.left, r.top));
      }
      return hits;
    } finally {
      vec.delete();
    }
  } finally {
    mod._free(ptr);
  }
}
