/** Time, injectable so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until told to move. */
export class FakeClock implements Clock {
  constructor(private t: Date = new Date('2026-12-04T15:00:00Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  set(t: Date | string): void {
    this.t = new Date(t);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

const zones = new Map<string, { format: Intl.DateTimeFormat; minute: number; date: string }>();

/**
 * The calendar date (YYYY-MM-DD) of `t` in an IANA time zone. Building an Intl formatter costs
 * about 50 microseconds, so there is one per zone, and its answer is kept for the minute: every
 * zone's offset is a whole number of minutes, so a date never changes inside a minute.
 */
export function dateIn(t: Date, timeZone: string): string {
  const minute = Math.floor(t.getTime() / 60_000);
  let z = zones.get(timeZone);
  if (!z) {
    // en-CA formats dates as YYYY-MM-DD.
    const format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    z = { format, minute: Number.NaN, date: '' };
    zones.set(timeZone, z);
  }
  if (z.minute !== minute) {
    z.date = z.format.format(t);
    z.minute = minute;
  }
  return z.date;
}
