/**
 * The bus on Apache Kafka, through kafkajs 2.2.4 (checked against a Kafka 4.4 broker: see
 * test/kafka/README.md). Producer: idempotent, acks from all replicas, no compression (JPEG scans
 * are compressed already). Consumer: eachBatch with autoCommit off; offsets are committed
 * explicitly after the batch's work is durable.
 */
import { Kafka, type KafkaConfig, logLevel, type Producer } from 'kafkajs';
import type { Bus, OutMessage, SubscribeOptions, Subscription, TopicSpec } from './bus.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId?: string;
  /** Largest message accepted, bytes (topic max.message.bytes; consumer fetch size follows). */
  maxMessageBytes?: number;
  log?: (level: string, message: string, extra?: object) => void;
}

/** kafkajs sends one produce request per partition; keep each well under the broker's limit. */
const MAX_SEND_BYTES = 4 * 1024 * 1024;

export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private producer?: Producer;
  private connecting?: Promise<Producer>;
  private readonly maxMessageBytes: number;

  constructor(opts: KafkaBusOptions) {
    this.maxMessageBytes = opts.maxMessageBytes ?? 10 * 1024 * 1024;
    const config: KafkaConfig = {
      clientId: opts.clientId ?? 'sigpost',
      brokers: opts.brokers,
      logLevel: logLevel.WARN,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
      logCreator: () => (entry) => {
        // kafkajs logs a retried "group coordinator not available" as ERROR at start; keep it a warning.
        const level = entry.level <= logLevel.ERROR ? 'warn' : 'info';
        opts.log?.(level, `kafkajs: ${entry.log.message}`, { namespace: entry.namespace });
      },
    };
    this.kafka = new Kafka(config);
  }

  private async getProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    this.connecting ??= (async () => {
      const p = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await p.connect();
      this.producer = p;
      return p;
    })();
    return this.connecting;
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.topic,
            numPartitions: s.partitions,
            replicationFactor: -1,
            configEntries: [
              { name: 'max.message.bytes', value: String(s.maxMessageBytes ?? this.maxMessageBytes) },
              ...(s.retainForever ? [{ name: 'retention.ms', value: '-1' }] : []),
            ],
          })),
        });
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Messages wait up to `lingerMs` (5 ms) to share a produce request with others, as Kafka's own
   * producer does with linger.ms: the idempotent producer sends one request at a time, so a request
   * per message would cap throughput. Resolves once the broker has acknowledged them.
   */
  send(topic: string, messages: OutMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.push({ topic, messages, resolve, reject });
      this.pendingBytes += messages.reduce(
        (a, m) => a + (typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length),
        0,
      );
      if (this.pendingBytes >= MAX_SEND_BYTES) void this.flush();
      else this.lingerTimer ??= setTimeout(() => void this.flush(), this.lingerMs);
    });
  }

  private readonly pending: {
    topic: string;
    messages: OutMessage[];
    resolve: () => void;
    reject: (e: unknown) => void;
  }[] = [];
  private pendingBytes = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly lingerMs = 5;
  private flushing: Promise<void> = Promise.resolve();

  private flush(): Promise<void> {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    const group = this.pending.splice(0);
    this.pendingBytes = 0;
    if (!group.length) return this.flushing;
    // One produce request at a time (the idempotent producer's rule), each under the size limit.
    this.flushing = this.flushing.then(async () => {
      try {
        const p = await this.getProducer();
        let topicMessages = new Map<
          string,
          { key: string | Buffer | null; value: string | Buffer; headers?: Record<string, string> }[]
        >();
        let bytes = 0;
        const send = async () => {
          if (!topicMessages.size) return;
          await p.sendBatch({
            acks: -1,
            topicMessages: [...topicMessages].map(([topic, messages]) => ({ topic, messages })),
          });
          topicMessages = new Map();
          bytes = 0;
        };
        for (const g of group) {
          for (const m of g.messages) {
            const size = typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length;
            if (bytes + size > MAX_SEND_BYTES) await send();
            const list = topicMessages.get(g.topic) ?? [];
            list.push({ key: m.key ?? null, value: m.value, ...(m.headers ? { headers: m.headers } : {}) });
            topicMessages.set(g.topic, list);
            bytes += size;
          }
        }
        await send();
        for (const g of group) g.resolve();
      } catch (e) {
        for (const g of group) g.reject(e);
      }
    });
    return this.flushing;
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, o.high]));
    } finally {
      await admin.disconnect();
    }
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    const consumer = this.kafka.consumer({
      groupId: opts.group,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? this.maxMessageBytes,
      maxBytes: Math.max(opts.maxBytesPerPartition ?? this.maxMessageBytes, 8 * 1024 * 1024),
      maxWaitTimeInMs: 100,
      // A member that dies is noticed after the session timeout; then its partitions move.
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 2_000,
      allowAutoTopicCreation: false,
    });
    await consumer.connect();
    for (const topic of opts.topics)
      await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning ?? false });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConcurrently ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!batch.messages.length || !isRunning() || isStale()) return;
        const timer = setInterval(() => void heartbeat().catch(() => {}), 2_000);
        try {
          await opts.onBatch({
            topic: batch.topic,
            partition: batch.partition,
            lag: Number(batch.offsetLag()),
            messages: batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key,
              value: m.value ?? Buffer.alloc(0),
              headers: Object.fromEntries(
                Object.entries(m.headers ?? {}).map(([k, v]) => [
                  k,
                  Array.isArray(v) ? String(v[0]) : v === undefined ? '' : String(v),
                ]),
              ),
              timestamp: Number(m.timestamp),
            })),
          });
        } finally {
          clearInterval(timer);
        }
        const last = batch.messages[batch.messages.length - 1]!.offset;
        resolveOffset(last);
        // The committed offset is the next one to read.
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
        ]);
      },
    });
    return {
      stop: async () => {
        await consumer.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    await this.flush();
    await this.producer?.disconnect();
  }
}
