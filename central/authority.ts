/**
 * Asking the postal authority whether a piece was used. The vendor refunds only unused postage; the
 * authority knows what its sorting plants scanned (the pipeline's GET /v1/sightings/{meter}/{serial}
 * answers `used: true` once a genuine sighting exists). If the authority cannot be asked, the refund
 * is refused for now (503): refunding used postage cannot be taken back.
 */
import { CentralError } from './errors.ts';

export async function wasUsed(
  authority: string,
  meter: string,
  serial: number,
  timeoutMs = 3000,
): Promise<boolean> {
  const url = new URL(`/v1/sightings/${meter}/${serial}`, authority);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new CentralError(
      'unavailable',
      `the postal authority could not be asked whether the piece was used (${(e as Error).message}); try again later`,
    );
  }
  if (!res.ok)
    throw new CentralError('unavailable', `the postal authority answered ${res.status}; try again later`);
  const body = (await res.json()) as { used?: boolean };
  return body.used === true;
}
