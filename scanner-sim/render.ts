/**
 * Mail pieces with damage, fast enough for thousands: the envelope (paper, addresses) is rendered
 * once per size and kept; for each piece only the indicium corner of the label layout is rendered
 * (the same SVG the mailer prints, central/label.ts), damaged as a print, placed in the upper-right
 * corner, and the whole image then damaged as a scan.
 */
import sharp from 'sharp';
import { labelSvg } from '../central/label.ts';
import type { Symbology } from '../indicium/barcode/index.ts';
import { type Damage, damagePrint, damageScan, type Grey } from './damage.ts';
import { type Address, envelopeGrey, type PieceSize } from './envelope.ts';

const PT = 72;
/** The indicium corner of the label's envelope layout (9.5 in wide page), in points. */
const CORNER = { x: (9.5 - 5.3) * PT, y: 0, w: 5.3 * PT, h: 1.7 * PT };

export interface PieceImage {
  payload?: Uint8Array | undefined;
  origin?: { city: string; state: string } | undefined;
  symbology?: Symbology;
  size?: PieceSize;
  from: Address;
  to: Address;
  paper?: number;
}

export class PieceRenderer {
  private readonly backgrounds = new Map<string, Promise<Grey>>();

  constructor(readonly dpi = 200) {}

  private background(size: PieceSize, from: Address, to: Address, paper: number): Promise<Grey> {
    const key = JSON.stringify([size, from, to, paper]);
    let bg = this.backgrounds.get(key);
    if (!bg) {
      bg = envelopeGrey({ size, from, to, paper, dpi: this.dpi });
      this.backgrounds.set(key, bg);
      if (this.backgrounds.size > 64) this.backgrounds.delete(this.backgrounds.keys().next().value!);
    }
    return bg;
  }

  /** The printed indicium corner as greyscale, with the barcode's box in its pixels. */
  private async corner(
    p: PieceImage,
    paper: number,
  ): Promise<{ g: Grey; barcode: { left: number; top: number; width: number; height: number } }> {
    const svg = await labelSvg(
      { payload: p.payload!, origin: p.origin, symbology: p.symbology },
      'envelope',
      'pt',
    );
    const cropped = svg
      .replace(
        /^<svg[^>]*>/,
        `<svg xmlns="http://www.w3.org/2000/svg" width="${CORNER.w}" height="${CORNER.h}" viewBox="${CORNER.x} ${CORNER.y} ${CORNER.w} ${CORNER.h}">`,
      )
      .replace(/<rect width="[\d.]+" height="[\d.]+" fill="#fff"\/>/, '');
    const { data, info } = await sharp(Buffer.from(cropped), { density: this.dpi })
      .flatten({ background: { r: paper, g: paper, b: paper } })
      .greyscale()
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const px = this.dpi / PT;
    const dm = p.symbology === 'datamatrix';
    const bw = (dm ? 40 * 0.02 : 171 * 0.0133) * PT * px;
    const bh = (dm ? 40 * 0.02 : 78 * 0.0133) * PT * px;
    const right = (CORNER.w - 0.25 * PT) * px;
    return {
      g: { data, width: info.width, height: info.height },
      barcode: { left: right - bw, top: 0.25 * PT * px, width: bw, height: bh },
    };
  }

  /** The camera's JPEG of one piece with the given damage. */
  async jpeg(p: PieceImage, damage: Damage, r: () => number): Promise<Buffer> {
    const size = p.size ?? 'letter';
    const paper = p.paper ?? 238;
    const bg = await this.background(size, p.from, p.to, paper);
    const img: Grey = { data: Buffer.from(bg.data), width: bg.width, height: bg.height };
    if (p.payload) {
      // Print onto the paper tone the envelope actually has (its corner pixel), so no seam shows.
      const tone = bg.data[bg.width * 4 - 4]!;
      const c = await this.corner(p, tone);
      const printed = await damagePrint(c.g, damage, r, c.barcode, tone);
      const left = Math.max(0, img.width - printed.width);
      for (let y = 0; y < printed.height && y < img.height; y++) {
        img.data.set(
          printed.data.subarray(y * printed.width, y * printed.width + Math.min(printed.width, img.width)),
          y * img.width + left,
        );
      }
    }
    return damageScan(img, damage, r, paper);
  }
}
