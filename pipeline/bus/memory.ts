/**
 * The in-process bus of the embedded default (one process, `npm start`): the same interface and
 * delivery rules as Kafka (per-partition order, commit after the batch, redelivery after a throw),
 * with the messages in memory. A group has one member here.
 */
import { EventEmitter } from 'node:events';
import {
  type Batch,
  type Bus,
  type BusMessage,
  type OutMessage,
  partitionOf,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from './bus.ts';

const BATCH = 256;

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, BusMessage[][]>();
  private readonly committed = new Map<string, number>(); // `${group}|${topic}|${partition}` -> next offset
  private readonly groups = new Set<string>();
  private readonly wake = new EventEmitter();
  private rr = 0;

  constructor(private readonly defaultPartitions = 4) {
    this.wake.setMaxListeners(1000);
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    for (const s of specs)
      if (!this.topics.has(s.topic))
        this.topics.set(
          s.topic,
          Array.from({ length: s.partitions }, () => []),
        );
  }

  private parts(topic: string): BusMessage[][] {
    let p = this.topics.get(topic);
    if (!p) {
      p = Array.from({ length: this.defaultPartitions }, () => []);
      this.topics.set(topic, p);
    }
    return p;
  }

  async send(topic: string, messages: OutMessage[]): Promise<void> {
    const parts = this.parts(topic);
    for (const m of messages) {
      const partition = partitionOf(m.key, parts.length, this.rr++);
      const log = parts[partition]!;
      log.push({
        topic,
        partition,
        offset: String(log.length),
        key: m.key === null || m.key === undefined ? null : Buffer.from(m.key),
        value: Buffer.from(m.value),
        headers: { ...m.headers },
        timestamp: Date.now(),
      });
    }
    this.wake.emit('data');
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    return new Map(this.parts(topic).map((log, i) => [i, String(log.length)]));
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    if (this.groups.has(opts.group)) throw new Error(`memory bus: group ${opts.group} already has a member`);
    this.groups.add(opts.group);
    let running = true;
    const loops: Promise<void>[] = [];
    for (const topic of opts.topics) {
      const parts = this.parts(topic);
      parts.forEach((log, partition) => {
        const id = `${opts.group}|${topic}|${partition}`;
        if (!this.committed.has(id)) this.committed.set(id, opts.fromBeginning ? 0 : log.length);
        loops.push(
          (async () => {
            let backoff = 50;
            while (running) {
              const from = this.committed.get(id)!;
              if (from >= log.length) {
                await new Promise<void>((r) => {
                  const t = setTimeout(r, 200);
                  this.wake.once('data', () => {
                    clearTimeout(t);
                    r();
                  });
                });
                continue;
              }
              const messages = log.slice(from, from + BATCH);
              const batch: Batch = { topic, partition, messages, lag: log.length - from - messages.length };
              try {
                await opts.onBatch(batch);
                this.committed.set(id, from + messages.length);
                backoff = 50;
              } catch {
                if (!running) break;
                await new Promise((r) => setTimeout(r, backoff));
                backoff = Math.min(backoff * 2, 5000);
              }
            }
          })(),
        );
      });
    }
    return {
      stop: async () => {
        running = false;
        this.wake.emit('data');
        await Promise.all(loops);
        this.groups.delete(opts.group);
      },
    };
  }

  async close(): Promise<void> {
    this.wake.emit('data');
  }
}
