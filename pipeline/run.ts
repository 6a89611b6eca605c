/**
 * The pipeline's workers on a bus: the read stage (scans -> scans.read), the verdict stage
 * (scans.read -> ClickHouse + verdicts) and the events follower (indicia.events -> key registry
 * and voided list). Each role can run in its own processes; scaling out is more members of the
 * same consumer group.
 *
 * Failures travel as data (a verdict, or a dead letter with its reason). Only infrastructure faults
 * (ClickHouse down, a worker thread dying) are retried: the batch is held, retried with backoff,
 * and its offsets are not committed until it succeeds.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pLimit from 'p-limit';
import type { Batch, Bus, BusMessage, OutMessage, Subscription } from './bus/bus.ts';
import type { History } from './history.ts';
import {
  parseReadMessage,
  parseScanHeaders,
  type ReadMessage,
  type Topics,
  topics,
  type VerdictMessage,
} from './messages.ts';
import type { PipelineMetrics } from './metrics.ts';
import { ReadPool } from './read/pool.ts';
import { DEFAULT_LIMITS, type ReadLimits, readMessage } from './read/read.ts';
import type { FeedEvent, KeyRegistry } from './registry.ts';
import { VerdictStage } from './verdict.ts';
import { DEFAULT_VERIFY, type VerifyOptions } from './verify.ts';

export type Role = 'read' | 'verdict';

export interface PipelineOptions {
  bus: Bus;
  registry: KeyRegistry;
  metrics: PipelineMetrics;
  roles: Role[];
  /** Needed by the verdict role. */
  history?: History;
  readThreads?: number;
  limits?: ReadLimits;
  /** Largest scan accepted, bytes; larger goes to scans.dead. */
  maxImageBytes?: number;
  verify?: VerifyOptions;
  /** Partitions for topics this process creates. */
  partitions?: number;
  /** Follow indicia.events on the bus (default true). */
  followEvents?: boolean;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: object) => void;
  /** Prefix of topic and consumer group names (default none). */
  prefix?: string;
  /** Called with each batch of verdicts once published (the demo's live page). */
  onVerdicts?: (v: VerdictMessage[]) => void;
}

export const GROUPS = { read: 'sigpost-read', verdict: 'sigpost-verdict' } as const;
const MAX_FAULTS = 3;

export class Pipeline {
  private readonly subs: Subscription[] = [];
  private stopping = false;
  private pool?: ReadPool;
  private verdictStage?: VerdictStage;
  private readonly faults = new Map<string, number>();
  private eventsSeen = 0;

  private readonly t: Topics;
  private readonly groups: { read: string; verdict: string };

  private constructor(private readonly o: PipelineOptions) {
    this.t = topics(o.prefix);
    this.groups = { read: `${o.prefix ?? ''}${GROUPS.read}`, verdict: `${o.prefix ?? ''}${GROUPS.verdict}` };
  }

  static async start(o: PipelineOptions): Promise<Pipeline> {
    const p = new Pipeline(o);
    await p.begin();
    return p;
  }

  get eventsApplied(): number {
    return this.eventsSeen;
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, extra?: object): void {
    this.o.log?.(level, msg, extra);
  }

  private async begin(): Promise<void> {
    const { bus } = this.o;
    const partitions = this.o.partitions ?? 8;
    const maxBytes = (this.o.maxImageBytes ?? 8 * 1024 * 1024) + 64 * 1024;
    await bus.ensureTopics([
      { topic: this.t.scans, partitions, maxMessageBytes: maxBytes },
      { topic: this.t.read, partitions },
      { topic: this.t.verdicts, partitions },
      { topic: this.t.dead, partitions: 1, maxMessageBytes: maxBytes },
      { topic: this.t.events, partitions, retainForever: true },
    ]);
    if (this.o.followEvents ?? true) await this.followEvents();
    if (this.o.roles.includes('verdict')) {
      if (!this.o.history) throw new Error('the verdict role needs ClickHouse (--clickhouse)');
      this.verdictStage = new VerdictStage(this.o.history, this.o.registry, this.o.verify ?? DEFAULT_VERIFY);
      this.subs.push(
        await bus.subscribe({
          group: this.groups.verdict,
          topics: [this.t.read],
          fromBeginning: true,
          partitionsConcurrently: partitions,
          maxBytesPerPartition: 4 * 1024 * 1024,
          onBatch: (b) => this.retrying('verdict', b, () => this.verdictBatch(b)),
        }),
      );
    }
    if (this.o.roles.includes('read')) {
      this.pool = new ReadPool(this.o.readThreads, this.o.limits ?? DEFAULT_LIMITS);
      this.subs.push(
        await bus.subscribe({
          group: this.groups.read,
          topics: [this.t.scans],
          fromBeginning: true,
          // Every fetched partition batch feeds the shared pool at once (its queue is FIFO).
          partitionsConcurrently: partitions,
          // Small fetches: kafkajs copies a response as it arrives, so big ones cost CPU. A scan larger
          // than this still arrives (Kafka returns the first batch whatever its size).
          maxBytesPerPartition: 1024 * 1024,
          onBatch: (b) => this.retrying('read', b, () => this.readBatch(b)),
        }),
      );
    }
  }

  /** Keep the registry from indicia.events, from the beginning; wait until caught up. */
  private async followEvents(): Promise<void> {
    const { bus, registry } = this.o;
    const ends = await bus.endOffsets(this.t.events);
    const target = [...ends.values()].reduce((a, b) => a + Number(b), 0);
    this.subs.push(
      await bus.subscribe({
        // Every process rebuilds the full registry: its own group, from the beginning.
        group: `${this.o.prefix ?? ''}sigpost-events-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        topics: [this.t.events],
        fromBeginning: true,
        partitionsConcurrently: 4,
        onBatch: async (b) => {
          for (const m of b.messages) {
            try {
              registry.apply(JSON.parse(m.value.toString('utf8')) as FeedEvent);
            } catch {
              this.log('warn', 'ignored an indicia.events message that is not JSON', { offset: m.offset });
            }
            this.eventsSeen++;
          }
        },
      }),
    );
    const deadline = Date.now() + 30_000;
    while (this.eventsSeen < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (this.eventsSeen < target)
      this.log('warn', 'indicia.events not caught up after 30 s; continuing', {
        seen: this.eventsSeen,
        target,
      });
  }

  /** Run a batch; on an infrastructure fault, wait and run it again (never commit a failed batch). */
  private async retrying(stage: Role, b: Batch, fn: () => Promise<void>): Promise<void> {
    let backoff = 100;
    for (;;) {
      if (this.stopping) throw new Error('stopping');
      try {
        await fn();
        if (b.lag !== undefined) this.o.metrics.lag.set({ stage, partition: String(b.partition) }, b.lag);
        return;
      } catch (e) {
        if (this.stopping) throw e;
        this.log('error', `${stage} batch failed; retrying`, {
          partition: b.partition,
          err: (e as Error).message,
        });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private dead(m: BusMessage, stage: string, reason: string): OutMessage {
    this.o.metrics.deadLetter(reason);
    return {
      key: m.key,
      value: m.value,
      headers: {
        ...m.headers,
        dead_reason: reason,
        dead_stage: stage,
        dead_at: new Date().toISOString(),
        source_topic: m.topic,
        source_partition: String(m.partition),
        source_offset: m.offset,
      },
    };
  }

  private async readBatch(b: Batch): Promise<void> {
    const { metrics } = this.o;
    const pool = this.pool!;
    const maxImage = this.o.maxImageBytes ?? 8 * 1024 * 1024;
    const limit = pLimit(pool.threads * 2);
    // Each result leaves as soon as it is ready (the bus coalesces sends); the batch's offsets are
    // committed only once every one of them is acknowledged.
    const sends: Promise<void>[] = [];
    const dead = { push: (m: OutMessage) => sends.push(this.o.bus.send(this.t.dead, [m])) };
    await metrics.observe('read', b.messages.length, () =>
      Promise.all(
        b.messages.map((m) =>
          limit(async () => {
            if (m.value.length > maxImage)
              return void dead.push(this.dead(m, 'read', `oversized:${m.value.length} bytes > ${maxImage}`));
            if (m.value.length === 0) return void dead.push(this.dead(m, 'read', 'empty'));
            const h = parseScanHeaders(m.headers);
            if ('dead' in h) return void dead.push(this.dead(m, 'read', h.dead));
            const id = `${m.topic}/${m.partition}/${m.offset}`;
            let r: Awaited<ReturnType<ReadPool['run']>>;
            try {
              r = await pool.run(
                h.content_encoding === 'base64' ? Buffer.from(m.value.toString('latin1'), 'base64') : m.value,
              );
              this.faults.delete(id);
            } catch (e) {
              // A worker fault: retry the batch, but not forever for one poisonous image.
              const n = (this.faults.get(id) ?? 0) + 1;
              this.faults.set(id, n);
              if (n < MAX_FAULTS) throw e;
              this.faults.delete(id);
              return void dead.push(this.dead(m, 'read', `read_fault:${(e as Error).message}`));
            }
            metrics.step('image', r.timings.image_ms);
            metrics.step('barcode', r.timings.barcode_ms);
            const msg = readMessage(h, r, {
              queued_at: new Date(m.timestamp).toISOString(),
              read_at: new Date().toISOString(),
              queue_ms: Date.now() - m.timestamp,
            });
            // Keyed by meter: one verdict worker owns every sighting of a meter.
            sends.push(
              this.o.bus.send(this.t.read, [{ key: msg.meter ?? msg.scan_id, value: JSON.stringify(msg) }]),
            );
          }),
        ),
      ),
    );
    await Promise.all(sends);
  }

  private async verdictBatch(b: Batch): Promise<void> {
    const { metrics } = this.o;
    const reads: ReadMessage[] = [];
    const dead: OutMessage[] = [];
    for (const m of b.messages) {
      const r = parseReadMessage(m.value);
      if ('dead' in r) dead.push(this.dead(m, 'verdict', r.dead));
      else reads.push(r);
    }
    const { verdicts, written, timings } = await metrics.observe('verdict', reads.length, () =>
      this.decideTogether(reads),
    );
    metrics.step('verify', timings.verify_ms);
    metrics.step('history', timings.history_ms);
    metrics.insertSeconds.observe(timings.insert_ms / 1000);
    await this.o.bus.send(
      this.t.verdicts,
      verdicts.map((v) => ({ key: v.scan_id, value: JSON.stringify(v), headers: { verdict: v.verdict } })),
    );
    if (dead.length) await this.o.bus.send(this.t.dead, dead);
    const now = Date.now();
    const queuedAt = new Map(reads.map((r) => [r.scan_id, r.queued_at]));
    for (const w of written) {
      metrics.scans.inc({ verdict: w.verdict });
      const queued = queuedAt.get(w.scan_id);
      if (queued) metrics.scanToVerdict.observe((now - Date.parse(queued)) / 1000);
    }
    this.o.onVerdicts?.(verdicts);
  }

  /**
   * Batches of different partitions that arrive while a decision is running are decided together
   * next, in one set of ClickHouse round trips (group commit). Safe: every partition here is owned
   * by this process, a meter lives in one partition, and each batch keeps its order.
   */
  private decideTogether(reads: ReadMessage[]): ReturnType<VerdictStage['decide']> {
    return new Promise((resolve, reject) => {
      this.decideQueue.push({ reads, resolve, reject });
      if (!this.deciding) void this.runDecisions();
    });
  }

  private readonly decideQueue: {
    reads: ReadMessage[];
    resolve: (r: Awaited<ReturnType<VerdictStage['decide']>>) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private deciding = false;

  private async runDecisions(): Promise<void> {
    this.deciding = true;
    while (this.decideQueue.length) {
      const group = this.decideQueue.splice(0);
      try {
        const all = await this.verdictStage!.decide(group.flatMap((g) => g.reads));
        const byId = new Map(all.verdicts.map((v) => [v.scan_id, v]));
        for (const g of group) {
          const ids = new Set(g.reads.map((r) => r.scan_id));
          g.resolve({
            verdicts: g.reads.map((r) => byId.get(r.scan_id)!),
            written: all.written.filter((w) => ids.has(w.scan_id)),
            timings: all.timings,
          });
        }
      } catch (e) {
        for (const g of group) g.reject(e);
      }
    }
    this.deciding = false;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.subs.map((s) => s.stop().catch(() => {})));
    await this.pool?.close();
  }
}
