/**
 * Barcode writing. zxing-wasm encodes the payload into a module matrix; we render that matrix
 * ourselves (PNG, SVG, raw bitmap, or rectangles for a PDF), so that the printed X-dimension and
 * quiet zone are ours to choose.
 *
 * PDF417 (the default): error-correction level 5 (64 EC codewords, about 41% of the symbol), 6 data
 * columns, rows 3 modules high; a v1 payload (103 bytes) gives 26 rows, 171 x 78 modules.
 * Data Matrix: square ECC 200 symbols only (40 x 40 for v1), which every reader supports
 * (rectangular DMRE sizes are not read by libdmtx). Both are written in plain byte mode, without an
 * ECI designator.
 */
import sharp from 'sharp';
import { writeBarcode } from 'zxing-wasm';
import { zxingModule } from './zxing.ts';

export type Symbology = 'pdf417' | 'datamatrix';
export const SYMBOLOGIES: readonly Symbology[] = ['pdf417', 'datamatrix'];

export const PDF417_EC_LEVEL = 5;
export const PDF417_COLUMNS = 6;

export interface BarcodeMatrix {
  symbology: Symbology;
  /** Modules across and down, without the quiet zone. */
  width: number;
  height: number;
  /** Row-major, one byte per module: 1 = dark (ink), 0 = light. */
  dark: Uint8Array;
}

export async function encodeMatrix(
  payload: Uint8Array,
  symbology: Symbology = 'pdf417',
): Promise<BarcodeMatrix> {
  await zxingModule();
  const result = await writeBarcode(payload, {
    format: symbology === 'pdf417' ? 'PDF417' : 'DataMatrix',
    // eci=0: plain byte mode, no ECI 899 designator, which libdmtx and older readers print as data.
    options:
      symbology === 'pdf417'
        ? `ecLevel=${PDF417_EC_LEVEL},columns=${PDF417_COLUMNS},eci=0`
        : 'forceSquare,eci=0',
    scale: 1,
    addQuietZones: false,
  });
  if (result.error) throw new Error(`barcode encoder failed: ${result.error}`);
  const { width, height, data } = result.symbol;
  const dark = new Uint8Array(width * height);
  for (let i = 0; i < dark.length; i++) dark[i] = data[i] === 0 ? 1 : 0;
  return { symbology, width, height, dark };
}

/** Quiet zone in modules: PDF417 asks for 2X and Data Matrix for 1X; 2 serves both. */
export const QUIET_ZONE = 2;

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * The dark modules as rectangles, in module units (quiet zone excluded): horizontal runs, with
 * identical neighbouring rows merged (PDF417 rows repeat), so a PDF or SVG stays small.
 */
export function darkRects(m: BarcodeMatrix): Rect[] {
  const rects: Rect[] = [];
  let y = 0;
  while (y < m.height) {
    let y2 = y + 1;
    while (y2 < m.height && rowsEqual(m, y, y2)) y2++;
    const row = y * m.width;
    let x = 0;
    while (x < m.width) {
      if (m.dark[row + x]) {
        const x0 = x;
        while (x < m.width && m.dark[row + x]) x++;
        rects.push({ x: x0, y, w: x - x0, h: y2 - y });
      } else x++;
    }
    y = y2;
  }
  return rects;
}

function rowsEqual(m: BarcodeMatrix, a: number, b: number): boolean {
  const w = m.width;
  for (let x = 0; x < w; x++) if (m.dark[a * w + x] !== m.dark[b * w + x]) return false;
  return true;
}

export interface RenderOptions {
  /** Pixels (or SVG user units) per module. Default 4 (about 0.013 in per module at 300 dpi). */
  moduleSize?: number;
  /** Quiet zone in modules. Default QUIET_ZONE. */
  quietZone?: number;
}

export interface GreyBitmap {
  width: number;
  height: number;
  /** One byte per pixel, row-major: 0 = black, 255 = white. */
  data: Uint8Array;
}

export function renderBitmap(m: BarcodeMatrix, opts: RenderOptions = {}): GreyBitmap {
  const s = opts.moduleSize ?? 4;
  const q = opts.quietZone ?? QUIET_ZONE;
  const width = (m.width + 2 * q) * s;
  const height = (m.height + 2 * q) * s;
  const data = new Uint8Array(width * height).fill(255);
  for (let my = 0; my < m.height; my++) {
    for (let mx = 0; mx < m.width; mx++) {
      if (!m.dark[my * m.width + mx]) continue;
      const px = (mx + q) * s;
      for (let dy = 0; dy < s; dy++)
        data.fill(0, ((my + q) * s + dy) * width + px, ((my + q) * s + dy) * width + px + s);
    }
  }
  return { width, height, data };
}

export async function renderPng(m: BarcodeMatrix, opts: RenderOptions = {}): Promise<Buffer> {
  const bmp = renderBitmap(m, opts);
  return sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: 1 } })
    .png({ palette: false, compressionLevel: 6, colours: 2 })
    .toBuffer();
}

export function renderSvg(m: BarcodeMatrix, opts: RenderOptions = {}): string {
  const s = opts.moduleSize ?? 4;
  const q = opts.quietZone ?? QUIET_ZONE;
  const w = (m.width + 2 * q) * s;
  const h = (m.height + 2 * q) * s;
  const d = darkRects(m)
    .map((r) => `M${(r.x + q) * s} ${(r.y + q) * s}h${r.w * s}v${r.h * s}h${-r.w * s}z`)
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" shape-rendering="crispEdges">` +
    `<rect width="${w}" height="${h}" fill="#fff"/><path d="${d}" fill="#000"/></svg>`
  );
}
