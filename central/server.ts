/**
 * Running the central signer as a server: listen (HTTP, or HTTPS with --tls-cert/--tls-key), log
 * the dev-secret notices, and stop cleanly on SIGINT/SIGTERM (finish requests in flight, commit,
 * close the ledger).
 */
import { readFileSync } from 'node:fs';
import { buildCentral, type Central, type CentralDeps } from './app.ts';
import type { CentralConfig, ConfigNotice } from './config.ts';
import { type Publish, Relay } from './relay.ts';
import { kafkaPublisher } from './relay-kafka.ts';

export interface Running {
  central: Central;
  url: string;
  relay?: Relay | undefined;
  stop(): Promise<void>;
}

export async function startServer(
  config: CentralConfig,
  notices: ConfigNotice[] = [],
  extra: Omit<CentralDeps, 'config' | 'https'> = {},
  feed: { kafka?: string[] | undefined; topic?: string | undefined; publish?: Publish | undefined } = {},
): Promise<Running> {
  const https =
    config.tlsCert && config.tlsKey
      ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) }
      : undefined;
  const central = await buildCentral({ ...extra, config, ...(https ? { https } : {}) });
  for (const n of notices) central.app.log.warn(n.warn);
  if (central.signer.scheme === 'memory')
    central.app.log.warn('memory signer: keys are lost when the process stops');
  await central.app.listen({ host: config.host, port: config.port });
  const addr = central.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${https ? 'https' : 'http'}://${host}:${port}`;
  central.app.log.info(
    { url, data: config.dataDir, signer: central.signer.scheme },
    'central signer listening',
  );
  // The outbox relay to indicia.events (EVENTS.md), if there is somewhere to publish.
  let publish = feed.publish;
  let closePublisher: (() => Promise<void>) | undefined;
  if (!publish && feed.kafka?.length) {
    const k = await kafkaPublisher(feed.kafka, feed.topic);
    publish = k.publish;
    closePublisher = k.close;
  }
  const relay = publish
    ? new Relay(central.store, publish, feed.kafka ? 'kafka' : 'bus', (m, x) =>
        central.app.log.warn(x ?? {}, m),
      )
    : undefined;
  relay?.start();
  let stopping: Promise<void> | undefined;
  return {
    central,
    url,
    relay,
    stop: () => {
      stopping ??= (async () => {
        await central.stopAccepting();
        await relay?.drain(5_000);
        await relay?.stop();
        await closePublisher?.();
        await central.close();
      })();
      return stopping;
    },
  };
}

/** Stop on the first SIGINT/SIGTERM; a second one exits at once. */
export function stopOnSignals(stop: () => Promise<void>, log: (msg: string) => void): void {
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count++;
    if (count > 1) process.exit(130);
    log(`${sig}: finishing requests in flight, then stopping`);
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log(`stop failed: ${String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
