/**
 * The scenario mix with its ground truth: every generated scan carries the verdict a correct
 * pipeline must give it. Indicia are real, bought from a central signer (in process or over its
 * API); forgeries are made the way a forger would.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Symbology } from '../indicium/barcode/index.ts';
import { assemblePayload, decodeIndicium, encodeRecord } from '../indicium/index.ts';
import { DAMAGE_LEVELS, type DamageLevel, drawDamage, rng } from './damage.ts';
import type { Address } from './envelope.ts';
import { PieceRenderer } from './render.ts';

export const SCENARIOS = [
  'valid',
  'copied',
  'tampered',
  'unknown_key',
  'refunded',
  'stale_date',
  'no_indicium',
  'damaged_indicium',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const EXPECTED: Record<Scenario, string> = {
  valid: 'VALID',
  copied: 'DUPLICATE',
  tampered: 'FORGED',
  unknown_key: 'UNKNOWN_KEY',
  refunded: 'VOIDED',
  stale_date: 'STALE_DATE',
  no_indicium: 'UNREADABLE',
  damaged_indicium: 'UNREADABLE',
};

export interface Mix {
  scenarios: Partial<Record<Scenario, number>>;
  damage: Partial<Record<DamageLevel, number>>;
  /** Share of pieces faced the wrong way. */
  upsideDown: number;
  /** Share of indicia printed as Data Matrix instead of PDF417. */
  dataMatrix: number;
  /** STALE_DATE threshold of the pipeline being tested, in days. */
  staleDays: number;
}

export const DEFAULT_MIX: Mix = {
  scenarios: {
    valid: 60,
    copied: 10,
    tampered: 5,
    unknown_key: 5,
    refunded: 5,
    stale_date: 5,
    no_indicium: 5,
    damaged_indicium: 5,
  },
  damage: { none: 20, light: 30, moderate: 30, heavy: 15, severe: 5 },
  upsideDown: 0.03,
  dataMatrix: 0.1,
  staleDays: 10,
};

export function loadMix(file?: string): Mix {
  if (!file) return DEFAULT_MIX;
  const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<Mix>;
  for (const k of Object.keys(m.scenarios ?? {}))
    if (!(SCENARIOS as readonly string[]).includes(k)) throw new Error(`mix: unknown scenario "${k}"`);
  for (const k of Object.keys(m.damage ?? {}))
    if (!(DAMAGE_LEVELS as readonly string[]).includes(k))
      throw new Error(`mix: unknown damage level "${k}"`);
  return { ...DEFAULT_MIX, ...m };
}

/** Where indicia come from: a central signer, in this process or over its API. */
export interface PostageSource {
  buy(req: {
    mail_class: string;
    weight_oz: number;
    destination_zip?: string;
    mailing_date?: string;
  }): Promise<{ payload: Uint8Array; origin: { city: string; state: string } }>;
  refund(meter: string, serial: number): Promise<void>;
}

export interface GeneratedScan {
  scan_id: string;
  plant: string;
  machine: string;
  captured_at: string;
  scenario: Scenario;
  expected: string;
  damage: DamageLevel;
  upside_down: boolean;
  symbology: Symbology | null;
  meter: string | null;
  serial: number | null;
  /** For a copy: the scan id of the original. */
  original: string | null;
  image: Buffer;
}

export type Truth = Omit<GeneratedScan, 'image'>;

const COPY_GAP = 40;

const FIRST = [
  'Jane Appleseed',
  'Omar Haddad',
  'Li Wei',
  'Maria Garcia',
  'Sam Okafor',
  'Ana Souza',
  'Tom Becker',
  'Priya Nair',
];
const STREETS = [
  '350 Fifth Avenue',
  '1600 Amphitheatre Pkwy',
  '233 S Wacker Dr',
  '1 Infinite Loop',
  '500 Market St',
  '77 Massachusetts Ave',
];
const CITIES = [
  ['New York NY', '10001'],
  ['Chicago IL', '60606'],
  ['San Francisco CA', '94105'],
  ['Cambridge MA', '02139'],
  ['Seattle WA', '98101'],
  ['Atlanta GA', '30303'],
] as const;

export interface GeneratorOptions {
  source: PostageSource;
  mix?: Mix;
  seed?: number;
  plants?: string[];
  machines?: string[];
  dpi?: number;
  /** The scan time of ordinary pieces (default now); a stale piece is scanned later. */
  now?: () => Date;
  /** Prefix of scan ids (one run's ids apart from another's). */
  runId?: string;
}

/** Makes scans one at a time, each with its ground truth. */
export class ScanGenerator {
  private readonly r: () => number;
  private readonly mix: Mix;
  private readonly renderer: PieceRenderer;
  private readonly plants: string[];
  private readonly machines: string[];
  private n = 0;
  /** Pieces already mailed that a copier may copy: originals read at little damage. */
  private readonly copyable: {
    n: number;
    payload: Uint8Array;
    origin: { city: string; state: string };
    scan_id: string;
    plant: string;
    symbology: Symbology;
  }[] = [];
  private readonly rogue = generateKeyPairSync('ed25519');

  constructor(private readonly o: GeneratorOptions) {
    this.r = rng(o.seed ?? 1);
    this.mix = o.mix ?? DEFAULT_MIX;
    this.renderer = new PieceRenderer(o.dpi ?? 200);
    this.plants = o.plants ?? ['PLANT-A', 'PLANT-B', 'PLANT-C'];
    this.machines = o.machines ?? ['DBCS-1', 'DBCS-2'];
  }

  private pick<K extends string>(weights: Partial<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((a, [, w]) => a + w, 0);
    let x = this.r() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }

  private address(): { from: Address; to: Address } {
    const i = Math.floor(this.r() * 1000);
    const [city, zip] = CITIES[i % CITIES.length]!;
    return {
      from: { name: 'Hill Country Books', street: '1201 W 6th St', cityLine: 'Austin TX 78703' },
      to: {
        name: FIRST[i % FIRST.length]!,
        street: STREETS[(i >> 3) % STREETS.length]!,
        cityLine: `${city} ${zip}`,
      },
    };
  }

  /** At most `cap` damage: a piece whose verdict depends on being read is kept readable. */
  private damageLevel(cap?: DamageLevel): DamageLevel {
    const level = this.pick(this.mix.damage);
    if (!cap) return level;
    return DAMAGE_LEVELS.indexOf(level) > DAMAGE_LEVELS.indexOf(cap) ? cap : level;
  }

  async next(): Promise<GeneratedScan> {
    const n = this.n++;
    let scenario = this.pick(this.mix.scenarios);
    // A copy is of a piece mailed well before (COPY_GAP scans earlier), so that the original is
    // decided first whatever the partitions' interleaving.
    const ripe = this.copyable.filter((c) => c.n <= n - COPY_GAP);
    if (scenario === 'copied' && ripe.length === 0) scenario = 'valid';
    const plant = this.plants[n % this.plants.length]!;
    const machine = this.machines[Math.floor(n / this.plants.length) % this.machines.length]!;
    const scan_id = `${this.o.runId ?? 'sim'}-${String(n).padStart(7, '0')}`;
    const now = (this.o.now ?? (() => new Date()))();
    let captured = now.toISOString();
    let symbology: Symbology = this.r() < this.mix.dataMatrix ? 'datamatrix' : 'pdf417';
    const upsideDown = this.r() < this.mix.upsideDown;
    const letter = { mail_class: 'letter', weight_oz: 1 + Math.floor(this.r() * 3) };

    let payload: Uint8Array | undefined;
    let origin = { city: 'Austin', state: 'TX' };
    let damage: DamageLevel;
    let original: string | null = null;
    let coverOverride: number | undefined;
    switch (scenario) {
      case 'valid': {
        const b = await this.o.source.buy(letter);
        payload = b.payload;
        origin = b.origin;
        damage = this.damageLevel();
        if ((damage === 'none' || damage === 'light') && !upsideDown)
          this.copyable.push({ n, payload, origin, scan_id, plant, symbology });
        break;
      }
      case 'copied': {
        // A photocopy of a piece already in the mail, posted later at another plant.
        const orig = ripe[Math.floor(this.r() * ripe.length)]!;
        payload = orig.payload;
        origin = orig.origin;
        original = orig.scan_id;
        symbology = orig.symbology;
        damage = this.damageLevel('moderate');
        break;
      }
      case 'tampered': {
        // A genuine indicium with its postage raised, the signature left as it was.
        const b = await this.o.source.buy(letter);
        payload = b.payload.slice();
        payload[19] = payload[19]! ^ (1 + Math.floor(this.r() * 7));
        origin = b.origin;
        damage = this.damageLevel('moderate');
        break;
      }
      case 'unknown_key': {
        // A well-formed record signed with a key no vendor published.
        const b = await this.o.source.buy(letter);
        const rec = {
          ...decodeIndicium(b.payload).record,
          keyNumber: 0xfff0_0000 + Math.floor(this.r() * 0xffff),
        };
        const bytes = encodeRecord(rec);
        payload = assemblePayload(bytes, new Uint8Array(sign(null, bytes, this.rogue.privateKey)));
        origin = b.origin;
        damage = this.damageLevel('moderate');
        break;
      }
      case 'refunded': {
        const b = await this.o.source.buy(letter);
        const d = decodeIndicium(b.payload);
        await this.o.source.refund(d.meter, d.record.serial);
        payload = b.payload;
        origin = b.origin;
        damage = this.damageLevel('moderate');
        break;
      }
      case 'stale_date': {
        // Bought and printed, then mailed long after its date.
        const b = await this.o.source.buy(letter);
        payload = b.payload;
        origin = b.origin;
        const mailed = decodeIndicium(b.payload).record.mailingDate;
        captured = new Date(
          Date.parse(`${mailed}T16:00:00Z`) + (this.mix.staleDays + 5) * 86_400_000,
        ).toISOString();
        damage = this.damageLevel('moderate');
        break;
      }
      case 'no_indicium':
        damage = this.damageLevel();
        break;
      case 'damaged_indicium': {
        const b = await this.o.source.buy(letter);
        payload = b.payload;
        origin = b.origin;
        damage = this.damageLevel('light');
        coverOverride = 0.65 + this.r() * 0.25; // most of the symbol gone
        break;
      }
    }
    const d = drawDamage(damage, this.r, 0);
    d.upsideDown = upsideDown;
    if (coverOverride !== undefined) d.covered = coverOverride;
    const image = await this.renderer.jpeg(
      { payload, origin, symbology, ...this.address(), paper: 228 + Math.floor(this.r() * 16) },
      d,
      this.r,
    );
    let meter: string | null = null;
    let serial: number | null = null;
    if (payload) {
      try {
        const dec = decodeIndicium(payload);
        meter = dec.meter;
        serial = dec.record.serial;
      } catch {}
    }
    return {
      scan_id,
      plant: scenario === 'copied' ? this.otherPlant(plant) : plant,
      machine,
      captured_at: captured,
      scenario,
      expected: EXPECTED[scenario],
      damage,
      upside_down: upsideDown,
      symbology: payload ? symbology : null,
      meter,
      serial,
      original,
      image,
    };
  }

  private otherPlant(p: string): string {
    const others = this.plants.filter((x) => x !== p);
    return others.length ? others[Math.floor(this.r() * others.length)]! : p;
  }
}

export function truthOf(s: GeneratedScan): Truth {
  const { image: _image, ...t } = s;
  return t;
}
