/**
 * The message bus, behind a narrow interface of our own so that the client can be replaced:
 * Kafka (kafkajs) in production and tests, an in-process bus for the one-command start.
 *
 * Consumption is by batch and per partition: `onBatch` gets a partition's messages in order, and
 * the bus commits their offsets only after `onBatch` resolves. If it throws, nothing is committed
 * and the batch is delivered again (at-least-once).
 */
export interface BusMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
  /** When the message was produced, ms since the epoch. */
  timestamp: number;
}

export interface OutMessage {
  key?: string | Buffer | null;
  value: string | Buffer;
  headers?: Record<string, string>;
}

export interface Batch {
  topic: string;
  partition: number;
  messages: BusMessage[];
  /** Messages behind this batch's last offset in the partition (consumer lag), if known. */
  lag?: number;
}

export interface SubscribeOptions {
  group: string;
  topics: string[];
  /** Start from the oldest message when the group has no committed offset. */
  fromBeginning?: boolean;
  onBatch(batch: Batch): Promise<void>;
  /** Most bytes fetched per partition per request. */
  maxBytesPerPartition?: number;
  /** Partitions processed at once by this member. */
  partitionsConcurrently?: number;
}

export interface Subscription {
  stop(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Largest message, bytes. */
  maxMessageBytes?: number;
  /** Keep forever (the events feed). */
  retainForever?: boolean;
}

export interface Bus {
  readonly kind: 'kafka' | 'memory';
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  send(topic: string, messages: OutMessage[]): Promise<void>;
  subscribe(opts: SubscribeOptions): Promise<Subscription>;
  /** Offsets at the end of each partition of a topic (for catching up). */
  endOffsets(topic: string): Promise<Map<number, string>>;
  close(): Promise<void>;
}

/** Partition for a key: murmur2 like Kafka's default partitioner is kafkajs's; ours for memory. */
export function partitionOf(
  key: string | Buffer | null | undefined,
  partitions: number,
  roundRobin: number,
): number {
  if (key === null || key === undefined) return roundRobin % partitions;
  const s = typeof key === 'string' ? key : key.toString('latin1');
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) % partitions;
}
