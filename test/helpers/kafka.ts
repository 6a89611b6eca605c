/**
 * The real Kafka broker for tests (test/kafka/broker.sh): started on first use by any test file,
 * shared by the run, stopped by the global teardown. Ports 19192/19193, apart from a developer's
 * own broker on the defaults. Missing Java, Maven or jars is a failure, never a skip.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ROOT } from './processes.ts';

export const TEST_KAFKA_PORT = 19192;
export const BROKER = join(ROOT, 'test', 'kafka', 'broker.sh');
export const brokerEnv = {
  ...process.env,
  SIGPOST_KAFKA_PORT: String(TEST_KAFKA_PORT),
  SIGPOST_KAFKA_CONTROLLER_PORT: String(TEST_KAFKA_PORT + 1),
  SIGPOST_KAFKA_STATE: `/tmp/sigpost-kafka-test-${TEST_KAFKA_PORT}`,
};

let address: string | undefined;

/**
 * The broker's address, starting it if need be (serialised across test processes by flock; -o so
 * that the broker, started in the background, does not inherit and hold the lock).
 */
export function kafka(): string {
  if (address) return address;
  try {
    const out = execFileSync('flock', ['-o', '/tmp/sigpost-kafka-test.lock', BROKER, 'start'], {
      env: brokerEnv,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 180_000,
    });
    address = out.trim().split('\n').pop()!;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `the Kafka broker for tests did not start (run test/setup.sh):\n${err.stderr ?? err.message}`,
    );
  }
  return address;
}

/** A fresh topic prefix per test, so tests share one broker without sharing topics. */
export function prefix(name: string): string {
  return `t-${name}-${randomUUID().slice(0, 8)}.`;
}

/** Run one of Kafka's own tools (an independent client) against the test broker. */
export function kafkaTool(mainClass: string, args: string[], input?: string | Buffer): string {
  return execFileSync(BROKER, ['tool', mainClass, ...args], {
    env: brokerEnv,
    input,
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
