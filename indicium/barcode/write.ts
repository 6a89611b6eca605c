/**
 * Barcode writing. A library encodes the payload into a module matrix, whichever measured faster
 * for the symbology (bench figures in FORMAT.md): bwip-js for PDF417 (0.68 ms against zxing-wasm's
 * 2.2 ms; a test reads both), zxing-wasm for Data Matrix
 * (0.86 ms against 1.9 ms). We render the matrix ourselves (PNG, SVG, raw bitmap, or rectangles for
 * a PDF), so that the printed X-dimension and quiet zone are ours to choose.
 *
 * PDF417 (the default): error-correction level 5 (64 EC codewords, about 41% of the symbol), 6 data
 * columns, rows 3 modules high; a v1 payload (103 bytes) gives 26 or 27 rows (171 x 78 or 81 modules).
 * Data Matrix: square ECC 200 symbols only (40 x 40 for v1), which every reader supports
 * (rectangular DMRE sizes are not read by libdmtx). Both are written in plain byte mode, without an
 * ECI designator.
 */
import { crc32, deflateSync } from 'node:zlib';
import bwipjs from 'bwip-js';
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
  return symbology === 'pdf417' ? encodePdf417(payload) : encodeDataMatrix(payload);
}

/** PDF417 through bwip-js (BWIPP), byte compaction of the raw bytes. */
export function encodePdf417(payload: Uint8Array): BarcodeMatrix {
  // The typings omit the BWIPP options (eclevel, columns) from the object form.
  const raw = bwipjs.raw as unknown as (
    o: Record<string, unknown>,
  ) => { pixs: number[]; pixx: number; pixy: number }[];
  const [sym] = raw({
    bcid: 'pdf417',
    text: Buffer.from(payload).toString('latin1'),
    binarytext: true, // each character is one byte, not UTF-8
    eclevel: PDF417_EC_LEVEL,
    columns: PDF417_COLUMNS,
  });
  if (!sym) throw new Error('barcode encoder returned no symbol');
  // bwip-js returns each row once; its height in modules (pixy) counts the 3X row height.
  const rows = sym.pixs.length / sym.pixx;
  const repeat = sym.pixy / rows;
  const dark = new Uint8Array(sym.pixx * sym.pixy);
  for (let y = 0; y < sym.pixy; y++) {
    const src = Math.floor(y / repeat) * sym.pixx;
    for (let x = 0; x < sym.pixx; x++) dark[y * sym.pixx + x] = sym.pixs[src + x]! ? 1 : 0;
  }
  return { symbology: 'pdf417', width: sym.pixx, height: sym.pixy, dark };
}

/** Both symbologies through zxing-wasm (the reference for the PDF417 cross-check). */
export async function encodeWithZxing(payload: Uint8Array, symbology: Symbology): Promise<BarcodeMatrix> {
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

export function encodeDataMatrix(payload: Uint8Array): Promise<BarcodeMatrix> {
  return encodeWithZxing(payload, 'datamatrix');
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

/** One PNG chunk: length, type, data, CRC-32 over type and data. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A 1-bit greyscale PNG (a two-colour symbol needs no more), with its physical resolution set so
 * that it prints at the intended size: `dpi` defaults to 300 (4 px per module = 0.0133 in).
 */
export function renderPng(m: BarcodeMatrix, opts: RenderOptions & { dpi?: number } = {}): Buffer {
  const s = opts.moduleSize ?? 4;
  const q = opts.quietZone ?? QUIET_ZONE;
  const width = (m.width + 2 * q) * s;
  const height = (m.height + 2 * q) * s;
  const stride = 1 + Math.ceil(width / 8); // filter byte + packed pixels, 1 = white
  const raw = Buffer.alloc(stride * height);
  const line = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const my = Math.floor(y / s) - q;
    if (y % s === 0) {
      line.fill(0xff, 1);
      line[0] = 0;
      if (my >= 0 && my < m.height) {
        for (let mx = 0; mx < m.width; mx++) {
          if (!m.dark[my * m.width + mx]) continue;
          for (let px = (mx + q) * s, end = px + s; px < end; px++)
            line[1 + (px >> 3)]! &= ~(0x80 >> (px & 7));
        }
      }
    }
    line.copy(raw, y * stride);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale, deflate, no filter, no interlace
  const phys = Buffer.alloc(9);
  const ppm = Math.round((opts.dpi ?? 300) / 0.0254);
  phys.writeUInt32BE(ppm, 0);
  phys.writeUInt32BE(ppm, 4);
  phys[8] = 1; // metres
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('pHYs', phys),
    pngChunk('IDAT', deflateSync(raw, { level: 6 })),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
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
