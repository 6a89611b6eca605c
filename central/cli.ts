/** `sigpost central ...` and `sigpost postage ...`: the vendor's server and the mailer's client. */
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatCents } from '../indicium/index.ts';
import { audit } from './audit.ts';
import { ApiClient, buyBatch, labelItem, writeLabels } from './client.ts';
import { resolveConfig } from './config.ts';
import { LABEL_LAYOUTS, type LabelLayout } from './label.ts';
import { startServer, stopOnSignals } from './server.ts';
import { Store } from './store.ts';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
  return n;
};

export function centralCommands(program: Command): void {
  const central = program.command('central').description("The postage vendor's secure central computer");

  central
    .command('serve')
    .description('Run the central signer (HTTP API, docs at /docs)')
    .requiredOption('--data <dir>', 'data folder (ledger.db, keys/)')
    .option('--port <n>', 'TCP port', int('--port'), 7300)
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--signer <url>', 'memory: or file:<dir> (default file:<data>/keys)')
    .option('--key-passphrase-file <file>', 'file holding the key passphrase (or env SIGPOST_KEY_PASSPHRASE)')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--rates <file>', 'rate table JSON (default: the sample table)')
    .option('--vendor-id <n>', 'vendor id, 1..99', int('--vendor-id'))
    .option('--refund-window-days <n>', 'refund window in days', int('--refund-window-days'))
    .option(
      '--authority <url>',
      "the postal authority's pipeline API, asked before a refund whether the piece was used",
    )
    .option('--rate-limit <n>', 'requests per minute per API key', int('--rate-limit'))
    .option('--max-batch <n>', 'most pieces per transaction', int('--max-batch'))
    .option('--time-zone <zone>', 'IANA zone for the default mailing date (default UTC)')
    .option('--kafka <host:port>', 'publish the events outbox to the indicia.events topic of this Kafka')
    .option('--events-topic <name>', 'topic for --kafka', 'indicia.events')
    .addOption(
      new Option('--log-level <level>', 'log level').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'silent',
      ]),
    )
    .addHelpText(
      'after',
      '\nEnvironment: SIGPOST_ADMIN_TOKEN (admin bearer token), SIGPOST_FEED_TOKEN, SIGPOST_KEY_PASSPHRASE.\nWithout them, development secrets are generated into the data folder (mode 0600).',
    )
    .action(async (o) => {
      const { config, notices } = resolveConfig({
        dataDir: o.data,
        port: o.port,
        host: o.host,
        ...(o.signer ? { signer: o.signer } : {}),
        keyPassphraseFile: o.keyPassphraseFile,
        ...(o.tlsCert ? { tlsCert: o.tlsCert } : {}),
        ...(o.tlsKey ? { tlsKey: o.tlsKey } : {}),
        ...(o.rates ? { ratesFile: o.rates } : {}),
        ...(o.vendorId ? { vendorId: o.vendorId } : {}),
        ...(o.refundWindowDays !== undefined ? { refundWindowDays: o.refundWindowDays } : {}),
        ...(o.authority ? { authorityUrl: o.authority } : {}),
        ...(o.rateLimit ? { rateLimitPerMinute: o.rateLimit } : {}),
        ...(o.maxBatch ? { maxBatch: o.maxBatch } : {}),
        ...(o.timeZone ? { timeZone: o.timeZone } : {}),
        ...(o.logLevel ? { logLevel: o.logLevel } : {}),
      });
      const running = await startServer(
        config,
        notices,
        {},
        { kafka: o.kafka ? String(o.kafka).split(',') : undefined, topic: o.eventsTopic },
      );
      process.stdout.write(`central signer listening on ${running.url} (API docs: ${running.url}/docs)\n`);
      stopOnSignals(running.stop, (m) => running.central.app.log.info(m));
    });

  central
    .command('audit')
    .description('Verify the journal hash chain, the registers and the serials; exit 1 on any break')
    .requiredOption('--data <dir>', 'data folder of the central signer')
    .option('--signatures', "also verify every stored indicium's signature")
    .option('--json', 'print the report as JSON')
    .action((o) => {
      const store = new Store(join(o.data, 'ledger.db'), { readonly: true });
      try {
        const r = audit(store, { signatures: !!o.signatures });
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          const c = r.checked;
          process.stdout.write(
            `${r.ok ? 'OK' : 'BROKEN'}: ${c.journal_rows} journal rows, ${c.accounts} accounts, ${c.indicia} indicia` +
              `${o.signatures ? `, ${c.signatures} signatures` : ''} checked\n` +
              `deposits ${formatCents(r.totals.deposited_cents)}, refunds ${formatCents(r.totals.refunded_cents)}, ` +
              `available ${formatCents(r.totals.descending_cents)}, dispensed ${formatCents(r.totals.ascending_cents)}\n` +
              r.problems.map((p) => `  - ${p}\n`).join(''),
          );
        }
        process.exitCode = r.ok ? 0 : 1;
      } finally {
        store.close();
      }
    });

  const postage = program.command('postage').description("The mailer's client: buy postage and print labels");
  const withApi = (c: Command) =>
    c
      .option('--api <url>', 'central signer URL (or env SIGPOST_API)', process.env.SIGPOST_API)
      .option('--key <key>', 'API key (or env SIGPOST_API_KEY)', process.env.SIGPOST_API_KEY);
  const client = (o: { api?: string; key?: string }) => {
    if (!o.api) throw new InvalidArgumentError('--api (or SIGPOST_API) is required');
    if (!o.key) throw new InvalidArgumentError('--key (or SIGPOST_API_KEY) is required');
    return new ApiClient(o.api, o.key);
  };

  withApi(
    postage
      .command('buy')
      .description('Buy one indicium (or a CSV batch) and write a printable label')
      .option('--class <class>', 'mail class: letter, postcard, flat, parcel, priority', 'letter')
      .option('--weight <oz>', 'weight in ounces', num('--weight'), 1)
      .option('--to <zip>', 'destination ZIP')
      .option('--date <yyyy-mm-dd>', 'mailing date (default today)')
      .option(
        '--csv <file>',
        'buy one piece per row (header: class,weight[,to][,date]) into a multi-page PDF',
      )
      .option('--out <file>', 'label file: .pdf, .png or .svg', 'label.pdf')
      .addOption(
        new Option('--layout <layout>', 'label layout')
          .choices(LABEL_LAYOUTS as string[])
          .default('envelope'),
      )
      .addOption(new Option('--symbology <s>', 'barcode').choices(['pdf417', 'datamatrix']).default('pdf417'))
      .option('--concurrency <n>', 'parallel purchases for --csv', int('--concurrency'), 4),
  ).action(async (o) => {
    const api = client(o);
    const layout = o.layout as LabelLayout;
    if (o.csv) {
      const r = await buyBatch(api, o.csv, o.concurrency);
      if (r.bought.length)
        await writeLabels(
          o.out,
          r.bought.map((v) => labelItem(v, o.symbology)),
          layout,
        );
      const total = r.bought.reduce((a, v) => a + v.postage_cents, 0);
      process.stdout.write(`bought ${r.bought.length} pieces for ${formatCents(total)} -> ${o.out}\n`);
      for (const f of r.failed) process.stdout.write(`  line ${f.line}: ${f.error}\n`);
      if (r.failed.length)
        process.stdout.write(
          'Run the same command again to retry the failed lines; pieces already bought are not bought twice.\n',
        );
      process.exitCode = r.failed.length ? 1 : 0;
    } else {
      const v = await api.buy({
        mail_class: o.class,
        weight_oz: o.weight,
        destination_zip: o.to,
        mailing_date: o.date,
      });
      await writeLabels(o.out, [labelItem(v, o.symbology)], layout);
      process.stdout.write(
        `bought meter ${v.meter} serial ${v.serial}: ${formatCents(v.postage_cents)} ${v.mail_class} -> ${o.out}\n`,
      );
    }
    const a = await api.account();
    process.stdout.write(
      `balance: ${formatCents(a.balance_cents)} (meter ${a.meter}, pieces issued: ${a.pieces_issued})\n`,
    );
  });

  withApi(postage.command('balance').description('Show the balance and registers')).action(async (o) => {
    const a = await client(o).account();
    process.stdout.write(`${JSON.stringify(a, null, 2)}\n`);
  });

  withApi(
    postage
      .command('refund')
      .description('Void an unused indicium; the postage returns to the balance')
      .argument('<meter>')
      .argument('<serial>', 'serial', int('serial')),
  ).action(async (meter: string, serial: number, o) => {
    const v = await client(o).refund(meter, serial);
    process.stdout.write(
      `refunded ${v.meter}/${v.serial}: ${formatCents(v.postage_cents)}; balance ${formatCents(v.balance_cents)}\n`,
    );
  });
}
