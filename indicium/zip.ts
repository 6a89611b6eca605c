/**
 * US ZIP Code lookups for the human-readable text and for request validation. The data comes
 * from the `zipcodes` package (about 41,000 five-digit ZIPs with a city and state); it is loaded
 * on first use, because it takes about 5 MB of memory.
 */
import { createRequire } from 'node:module';

export interface ZipPlace {
  zip5: string;
  city: string;
  state: string;
}

interface ZipcodesModule {
  lookup(zip: string): { zip: string; city: string; state: string; country: string } | undefined;
}

let db: ZipcodesModule | undefined;
function load(): ZipcodesModule {
  db ??= createRequire(import.meta.url)('zipcodes') as ZipcodesModule;
  return db;
}

const ZIP_RE = /^(\d{5})(?:-?(\d{4}))?$/;

/**
 * Split "78703", "78703-1234" or "787031234" into its parts, or undefined if it is not a ZIP the
 * record can carry (00501 is the lowest ZIP in use).
 */
export function parseZip(s: string): { zip5: string; plus4?: string | undefined } | undefined {
  const m = ZIP_RE.exec(s.trim());
  if (!m || Number(m[1]) < 501) return undefined;
  return { zip5: m[1]!, plus4: m[2] };
}

/** The city and state of a five-digit ZIP, or undefined if the ZIP is not in the table. */
export function lookupZip(zip5: string): ZipPlace | undefined {
  if (!/^\d{5}$/.test(zip5)) return undefined;
  const hit = load().lookup(zip5);
  if (hit?.country !== 'US') return undefined;
  return { zip5, city: hit.city, state: hit.state };
}
