/** The relay's Kafka publisher: `indicia.events`, keyed by meter, JSON envelopes (EVENTS.md). */
import { Kafka, logLevel } from 'kafkajs';
import type { FeedMessage, Publish } from './relay.ts';

export const EVENTS_TOPIC = 'indicia.events';

export async function kafkaPublisher(
  brokers: string[],
  topic = EVENTS_TOPIC,
  partitions = 8,
): Promise<{ publish: Publish; close(): Promise<void> }> {
  const kafka = new Kafka({ clientId: 'sigpost-central-relay', brokers, logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: partitions,
            replicationFactor: -1,
            configEntries: [{ name: 'retention.ms', value: '-1' }],
          },
        ],
      });
    }
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return {
    publish: async (events: FeedMessage[]) => {
      await producer.send({
        topic,
        acks: -1,
        messages: events.map((e) => ({
          key: e.meter ?? '',
          value: JSON.stringify(e),
          headers: { type: e.type, seq: String(e.seq) },
        })),
      });
    },
    close: () => producer.disconnect(),
  };
}
