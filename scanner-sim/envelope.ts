/**
 * Mail-piece images as a sorting machine's camera sees them: an envelope with a return address, a
 * delivery address and the printed indicium in the upper-right corner, rasterised at the scan
 * resolution (200 dpi by default), greyscale, JPEG.
 *
 * The indicium is drawn from the same label layout the mailer prints (central/label.ts), so what
 * the pipeline reads is what the vendor sold. Print and scan damage is applied by damage.ts.
 */
import sharp from 'sharp';
import { labelSvg } from '../central/label.ts';
import type { Symbology } from '../indicium/barcode/index.ts';

export const PIECE_SIZES = {
  /** #10 envelope, 9.5 x 4.125 in; the reference image set uses 9.5 x 4.25 in (1900 x 850 at 200 dpi). */
  letter: { widthIn: 9.5, heightIn: 4.25 },
  postcard: { widthIn: 6, heightIn: 4.25 },
  flat: { widthIn: 15, heightIn: 12 },
} as const;
export type PieceSize = keyof typeof PIECE_SIZES;

export interface Address {
  name: string;
  street: string;
  cityLine: string;
}

export interface EnvelopeSpec {
  /** The indicium's bytes; omit for a piece without postage. */
  payload?: Uint8Array | undefined;
  origin?: { city: string; state: string } | undefined;
  symbology?: Symbology | undefined;
  size?: PieceSize;
  dpi?: number;
  from: Address;
  to: Address;
  /** Paper tone, 0..255 (white envelopes scan at about 235). */
  paper?: number;
}

const PT = 72;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The mail piece as SVG, in points. */
export async function envelopeSvg(
  spec: EnvelopeSpec,
): Promise<{ svg: string; widthPt: number; heightPt: number }> {
  const size = PIECE_SIZES[spec.size ?? 'letter'];
  const w = size.widthIn * PT;
  const h = size.heightIn * PT;
  const paper = spec.paper ?? 238;
  const tone = `rgb(${paper},${paper},${paper})`;
  const text = (lines: string[], x: number, y: number, fs: number) =>
    lines
      .map((l, i) => `<text x="${x}" y="${y + i * fs * 1.25}" font-size="${fs}">${esc(l)}</text>`)
      .join('');
  let indicium = '';
  if (spec.payload) {
    // The label's envelope layout is a 9.5 in wide page with the indicium in its upper-right
    // corner; anchor that page's right edge to the piece's right edge.
    const label = await labelSvg(
      { payload: spec.payload, origin: spec.origin, symbology: spec.symbology },
      'envelope',
      'pt',
    );
    const inner = label
      .replace(/^<svg[^>]*>/, '')
      .replace(/<\/svg>$/, '')
      .replace(/<rect width="[\d.]+" height="[\d.]+" fill="#fff"\/>/, '');
    indicium = `<g transform="translate(${w - 9.5 * PT} 0)">${inner}</g>`;
  }
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `<rect width="${w}" height="${h}" fill="${tone}"/>` +
    `<g font-family="DejaVu Sans, Helvetica, Arial, sans-serif" fill="#111">` +
    text([spec.from.name, spec.from.street, spec.from.cityLine], 0.3 * PT, 0.45 * PT, 8) +
    text(
      [spec.to.name.toUpperCase(), spec.to.street.toUpperCase(), spec.to.cityLine.toUpperCase()],
      w * 0.38,
      h * 0.55,
      12,
    ) +
    `</g>${indicium}</svg>`;
  return { svg, widthPt: w, heightPt: h };
}

/** The mail piece as an 8-bit greyscale raster at `dpi` (default 200). */
export async function envelopeGrey(
  spec: EnvelopeSpec,
): Promise<{ data: Buffer; width: number; height: number }> {
  const { svg } = await envelopeSvg(spec);
  const { data, info } = await sharp(Buffer.from(svg), { density: spec.dpi ?? 200 })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // librsvg renders RGBA; greyscale() then raw() still leaves an alpha band to drop.
  const channels = info.channels;
  if (channels === 1) return { data, width: info.width, height: info.height };
  const grey = Buffer.alloc(info.width * info.height);
  for (let i = 0, j = 0; i < grey.length; i++, j += channels) grey[i] = data[j]!;
  return { data: grey, width: info.width, height: info.height };
}

/** The mail piece as a greyscale JPEG, as the camera feed sends it. */
export async function envelopeJpeg(spec: EnvelopeSpec, quality = 75): Promise<Buffer> {
  const g = await envelopeGrey(spec);
  return sharp(g.data, { raw: { width: g.width, height: g.height, channels: 1 } })
    .toColourspace('b-w')
    .jpeg({ quality, mozjpeg: false })
    .toBuffer();
}
