/**
 * Printable labels: the barcode and the human-readable block, laid out for
 *   - envelope: a #10 envelope (9.5 x 4.125 in) fed through a desktop printer, indicium in the
 *     upper-right corner where sorting cameras look for it;
 *   - label4x6: a 4 x 6 in adhesive label (thermal or sheet), indicium across the top.
 * As PDF (one page per piece, vector barcode), SVG, or PNG (the SVG rasterised at 300 dpi).
 *
 * Print geometry: PDF417 X-dimension 0.0133 in (4 dots at 300 dpi), rows 3X high, so the v1 symbol
 * is about 2.3 x 1.0 in; Data Matrix 0.02 in per module, 0.8 in square. Quiet zones of 2X or more.
 */
import PDFDocument from 'pdfkit';
import sharp from 'sharp';
import {
  type BarcodeMatrix,
  darkRects,
  encodeMatrix,
  QUIET_ZONE,
  type Symbology,
} from '../indicium/barcode/index.ts';
import { decodeIndicium, humanReadable } from '../indicium/index.ts';

export type LabelLayout = 'envelope' | 'label4x6';
export const LABEL_LAYOUTS: readonly LabelLayout[] = ['envelope', 'label4x6'];

export interface LabelItem {
  payload: Uint8Array;
  origin?: { city: string; state: string } | undefined;
  symbology?: Symbology | undefined;
}

const PT = 72; // points per inch
const PAGE: Record<LabelLayout, [number, number]> = {
  envelope: [9.5 * PT, 4.125 * PT],
  label4x6: [4 * PT, 6 * PT],
};
/** Module size in points. */
const X: Record<Symbology, number> = { pdf417: 0.0133 * PT, datamatrix: 0.02 * PT };

interface Placed {
  matrix: BarcodeMatrix;
  lines: string[];
  /** Barcode top-left, in points. */
  bx: number;
  by: number;
  x: number;
  /** Text block top-left and width. */
  tx: number;
  ty: number;
  tw: number;
  fontSize: number;
  page: [number, number];
}

async function place(item: LabelItem, layout: LabelLayout): Promise<Placed> {
  const symbology = item.symbology ?? 'pdf417';
  const matrix = await encodeMatrix(item.payload, symbology);
  const d = decodeIndicium(item.payload);
  const lines = humanReadable(d.record, item.origin).lines;
  const x = X[symbology];
  const bw = matrix.width * x;
  const page = PAGE[layout];
  const margin = 0.25 * PT;
  if (layout === 'envelope') {
    // Barcode flush to the upper-right corner (inside the margin); text to its left.
    const bx = page[0] - margin - bw;
    const by = margin;
    const tw = 2.4 * PT;
    return { matrix, lines, bx, by, x, tx: bx - tw - 0.12 * PT, ty: by, tw, fontSize: 7.5, page };
  }
  const bx = (page[0] - bw) / 2;
  const by = margin + 0.1 * PT;
  const bh = matrix.height * x;
  return {
    matrix,
    lines,
    bx,
    by,
    x,
    tx: margin,
    ty: by + bh + 0.2 * PT,
    tw: page[0] - 2 * margin,
    fontSize: 10,
    page,
  };
}

/** One page per item. */
export async function labelPdf(items: LabelItem[], layout: LabelLayout = 'envelope'): Promise<Buffer> {
  const doc = new PDFDocument({
    size: PAGE[layout],
    margin: 0,
    autoFirstPage: false,
    info: { Title: 'sigpost postage', Creator: 'sigpost' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((res, rej) => {
    doc.on('end', () => res(Buffer.concat(chunks)));
    doc.on('error', rej);
  });
  for (const item of items) {
    const p = await place(item, layout);
    doc.addPage({ size: p.page, margin: 0 });
    for (const r of darkRects(p.matrix)) doc.rect(p.bx + r.x * p.x, p.by + r.y * p.x, r.w * p.x, r.h * p.x);
    doc.fill('#000');
    doc
      .font('Helvetica-Bold')
      .fontSize(p.fontSize + 2)
      .text(p.lines[0]!, p.tx, p.ty, { width: p.tw, align: layout === 'envelope' ? 'right' : 'left' });
    doc.font('Helvetica').fontSize(p.fontSize);
    for (const line of p.lines.slice(1))
      doc.text(line, { width: p.tw, align: layout === 'envelope' ? 'right' : 'left' });
    if (layout === 'label4x6') {
      doc
        .moveDown(1.5)
        .font('Helvetica-Oblique')
        .fontSize(8)
        .fillColor('#444')
        .text(
          'Affix to the upper-right corner of the mail piece. Do not copy: each indicium is valid once.',
          { width: p.tw },
        );
      doc.fillColor('#000');
    }
  }
  doc.end();
  return done;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The label as SVG; user units are points (1/72 in). `size: 'in'` states the page size in inches
 * (for printing); 'pt' leaves it in user units (for rasterising at a chosen density).
 */
export async function labelSvg(
  item: LabelItem,
  layout: LabelLayout = 'envelope',
  size: 'in' | 'pt' = 'in',
): Promise<string> {
  const p = await place(item, layout);
  const [w, h] = p.page;
  const q = QUIET_ZONE * p.x;
  // Each rectangle reaches a fifth of a module into the row below it (inside the symbol), so that a
  // rasteriser cannot leave a hairline seam between rows that meet at a fractional pixel.
  const last = p.matrix.height;
  const path = darkRects(p.matrix)
    .map((r) => {
      const h = (r.h + (r.y + r.h < last ? 0.2 : 0)) * p.x;
      return `M${(p.bx + r.x * p.x).toFixed(2)} ${(p.by + r.y * p.x).toFixed(2)}h${(r.w * p.x).toFixed(2)}v${h.toFixed(2)}h${(-r.w * p.x).toFixed(2)}z`;
    })
    .join('');
  const right = layout === 'envelope';
  const anchorX = right ? p.tx + p.tw : p.tx;
  const text = p.lines
    .map((line, i) => {
      const size = i === 0 ? p.fontSize + 2 : p.fontSize;
      const y = p.ty + (i === 0 ? size : p.fontSize + 2 + (i + 0.2) * p.fontSize * 1.25);
      return `<text x="${anchorX.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}"${i === 0 ? ' font-weight="bold"' : ''}${right ? ' text-anchor="end"' : ''}>${esc(line)}</text>`;
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size === 'in' ? `${w / PT}in` : w}" height="${size === 'in' ? `${h / PT}in` : h}" viewBox="0 0 ${w} ${h}">` +
    `<rect width="${w}" height="${h}" fill="#fff"/>` +
    `<rect x="${(p.bx - q).toFixed(2)}" y="${(p.by - q).toFixed(2)}" width="${(p.matrix.width * p.x + 2 * q).toFixed(2)}" height="${(p.matrix.height * p.x + 2 * q).toFixed(2)}" fill="#fff"/>` +
    `<path d="${path}" fill="#000" shape-rendering="crispEdges"/>` +
    `<g font-family="DejaVu Sans, Helvetica, Arial, sans-serif" fill="#000">${text}</g></svg>`
  );
}

/** The label as a PNG at `dpi` (default 300). */
export async function labelPng(
  item: LabelItem,
  layout: LabelLayout = 'envelope',
  dpi = 300,
): Promise<Buffer> {
  const svg = await labelSvg(item, layout, 'pt');
  // sharp/librsvg take `density` as dots per inch over 72 user units per inch.
  return sharp(Buffer.from(svg), { density: dpi }).greyscale().png().toBuffer();
}
