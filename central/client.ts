/**
 * The end-user client: buy postage over the API and print labels. It talks to the central signer
 * over HTTP only; labels are rendered locally from the returned payload.
 *
 * Retries are safe: every purchase carries an Idempotency-Key, and a retry reuses it. A CSV batch
 * derives its keys from the file's content and the row number, so running the same file again
 * (after a crash, a network failure, a 402) returns the pieces already bought instead of buying twice.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { SingleBar } from 'cli-progress';
import { formatCents } from '../indicium/index.ts';
import type { IssuedView } from './issuance.ts';
import { type LabelItem, type LabelLayout, labelPdf, labelPng, labelSvg } from './label.ts';

export interface BuyRequest {
  mail_class: string;
  weight_oz: number;
  destination_zip?: string | undefined;
  mailing_date?: string | undefined;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly key: string,
    private readonly retries = 5,
  ) {}

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    let attempt = 0;
    for (;;) {
      let res: Response;
      try {
        res = await fetch(new URL(path, this.base), {
          method,
          headers: {
            authorization: `Bearer ${this.key}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
            ...headers,
          },
          body: body ? JSON.stringify(body) : null,
        });
      } catch (e) {
        if (++attempt > this.retries) throw new Error(`cannot reach ${this.base}: ${(e as Error).message}`);
        await sleep(200 * 2 ** attempt);
        continue;
      }
      if ((res.status === 429 || res.status === 503) && ++attempt <= this.retries) {
        const after = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : 200 * 2 ** attempt);
        continue;
      }
      const text = await res.text();
      if (!res.ok) {
        let code = 'http_error';
        let detail = text.slice(0, 300);
        try {
          const p = JSON.parse(text) as { code?: string; detail?: string; title?: string };
          code = p.code ?? code;
          detail = p.detail ?? p.title ?? detail;
        } catch {}
        throw new ApiError(res.status, code, detail);
      }
      return JSON.parse(text) as T;
    }
  }

  buy(req: BuyRequest, idempotencyKey: string = randomUUID()): Promise<IssuedView> {
    return this.call<IssuedView>('POST', '/v1/indicia', req, { 'idempotency-key': idempotencyKey });
  }

  account(): Promise<{ id: string; meter: string; balance_cents: number; pieces_issued: number }> {
    return this.call('GET', '/v1/account');
  }

  refund(meter: string, serial: number, reason?: string): Promise<IssuedView> {
    return this.call('POST', `/v1/indicia/${meter}/${serial}/refund`, reason ? { reason } : {});
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function labelItem(v: IssuedView, symbology?: 'pdf417' | 'datamatrix'): LabelItem {
  return {
    payload: new Uint8Array(Buffer.from(v.payload, 'base64')),
    origin: { city: v.origin.city, state: v.origin.state },
    symbology,
  };
}

/** Write the labels in the format named by the file's extension: .pdf (all pieces), .png or .svg (one). */
export async function writeLabels(out: string, items: LabelItem[], layout: LabelLayout): Promise<void> {
  const ext = extname(out).toLowerCase();
  if (ext === '.pdf') writeFileSync(out, await labelPdf(items, layout));
  else if (items.length !== 1) throw new Error('PNG and SVG hold one label; use a .pdf for a batch');
  else if (ext === '.png') writeFileSync(out, await labelPng(items[0]!, layout));
  else if (ext === '.svg') writeFileSync(out, await labelSvg(items[0]!, layout));
  else throw new Error(`--out must end in .pdf, .png or .svg (got "${out}")`);
}

export interface CsvRow extends BuyRequest {
  line: number;
}

/**
 * Parse a batch file: a header row naming at least `class` and `weight` (ounces), optionally
 * `to` (destination ZIP) and `date`. Commas separate fields; no quoting is needed for these values.
 */
export function parseCsv(text: string): CsvRow[] {
  const lines = text
    .split(/\r?\n/)
    .map((l, i) => ({ l: l.trim(), i: i + 1 }))
    .filter((x) => x.l && !x.l.startsWith('#'));
  const head = lines.shift();
  if (!head) throw new Error('the CSV file is empty');
  const cols = head.l.split(',').map((c) => c.trim().toLowerCase());
  const at = (name: string) => cols.indexOf(name);
  if (at('class') < 0 || at('weight') < 0)
    throw new Error('the CSV header must name at least "class" and "weight"');
  return lines.map(({ l, i }) => {
    const f = l.split(',').map((x) => x.trim());
    const weight = Number(f[at('weight')]);
    if (!Number.isFinite(weight)) throw new Error(`line ${i}: weight "${f[at('weight')]}" is not a number`);
    const get = (name: string) => (at(name) >= 0 && f[at(name)] ? f[at(name)] : undefined);
    return {
      line: i,
      mail_class: f[at('class')] ?? '',
      weight_oz: weight,
      destination_zip: get('to'),
      mailing_date: get('date'),
    };
  });
}

export interface BatchResult {
  bought: IssuedView[];
  failed: { line: number; error: string }[];
}

/** Buy every row of a CSV file, a few at a time, with a progress bar on stderr. */
export async function buyBatch(
  client: ApiClient,
  csvPath: string,
  concurrency = 4,
  progress = process.stderr.isTTY,
): Promise<BatchResult> {
  const text = readFileSync(csvPath, 'utf8');
  const rows = parseCsv(text);
  const fileHash = createHash('sha256').update(text).digest('hex').slice(0, 24);
  const bar = new SingleBar({
    format: 'buying {bar} {value}/{total} pieces | {spent} | {eta_formatted} left',
    stream: process.stderr,
    noTTYOutput: !progress,
    notTTYSchedule: 2000,
  });
  bar.start(rows.length, 0, { spent: '$0.00' });
  const bought: (IssuedView | undefined)[] = new Array(rows.length);
  const failed: BatchResult['failed'] = [];
  let spent = 0;
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const i = next++;
      const { line, ...req } = rows[i]!;
      try {
        const v = await client.buy(req, `csv-${fileHash}-line-${line}`);
        bought[i] = v;
        spent += v.postage_cents;
      } catch (e) {
        failed.push({ line, error: (e as Error).message });
      }
      bar.increment(1, { spent: formatCents(spent) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  bar.stop();
  return {
    bought: bought.filter((b): b is IssuedView => !!b),
    failed: failed.sort((a, b) => a.line - b.line),
  };
}
