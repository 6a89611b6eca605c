/**
 * The outbox relay: publishes the `events` table to the `indicia.events` feed in commit order,
 * at least once (the cursor advances only after the publisher confirmed). The publisher is given:
 * Kafka (relay-kafka.ts) for a vendor running beside a postal authority's Kafka, or any function
 * (the one-command demo hands it the in-process bus). Consumers dedupe by `seq`.
 */
import type { EventRow, Store } from './store.ts';

export interface FeedMessage {
  seq: number;
  type: string;
  meter: string | null;
  at: string;
  data: unknown;
}

export type Publish = (events: FeedMessage[]) => Promise<void>;

export class Relay {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly store: Pick<Store, 'eventsAfter' | 'getMeta' | 'setMeta'>,
    private readonly publish: Publish,
    private readonly name: string,
    private readonly log: (msg: string, extra?: object) => void = () => {},
    private readonly batch = 1000,
  ) {}

  get cursor(): number {
    return Number(this.store.getMeta(`relay:${this.name}`) ?? '0');
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      let backoff = 100;
      while (this.running) {
        const rows: EventRow[] = this.store.eventsAfter(this.cursor, this.batch);
        if (rows.length === 0) {
          await new Promise<void>((r) => {
            this.wake = r;
            setTimeout(r, 200);
          });
          continue;
        }
        try {
          await this.publish(
            rows.map((e) => ({
              seq: e.seq,
              type: e.type,
              meter: e.meter,
              at: e.at,
              data: JSON.parse(e.body) as unknown,
            })),
          );
          this.store.setMeta(`relay:${this.name}`, String(rows[rows.length - 1]!.seq));
          backoff = 100;
        } catch (e) {
          this.log('relay publish failed; retrying', { err: (e as Error).message });
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 5000);
        }
      }
    })();
  }

  /** Publish what is pending now, then return (used at shutdown and in tests). */
  async drain(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.store.eventsAfter(this.cursor, 1).length > 0 && Date.now() < deadline) {
      this.wake?.();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }
}
