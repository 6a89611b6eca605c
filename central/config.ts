/**
 * The central signer's configuration: one schema, validated at start (STYLE point 10). Sources,
 * strongest first: command-line flags, environment variables, defaults. Every field states its
 * unit and default; the defaults are safe (loopback, encrypted keys, rate limits on).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const CentralConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, description: 'Data folder: ledger.db, keys/, dev secrets.' }),
    host: Type.String({ default: '127.0.0.1', description: 'Address to bind. Default loopback.' }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 7300,
      description: 'TCP port. 0 = any free port.',
    }),
    adminToken: Type.String({
      minLength: 16,
      description: 'Bearer token for /v1/admin (env SIGPOST_ADMIN_TOKEN).',
    }),
    feedToken: Type.Optional(
      Type.String({
        minLength: 16,
        description:
          'Bearer token for the postal authority to read /v1/events (env SIGPOST_FEED_TOKEN). The admin token also works.',
      }),
    ),
    vendorId: Type.Integer({
      minimum: 1,
      maximum: 99,
      default: 41,
      description: 'Vendor id, the first two digits of every meter number.',
    }),
    softwareId: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 1,
      description: 'Software id written into every record.',
    }),
    signer: Type.String({ description: 'Signer: memory: or file:<dir>. Default file:<data>/keys.' }),
    keyPassphrase: Type.Optional(
      Type.String({
        minLength: 12,
        description:
          'Passphrase sealing the key files (env SIGPOST_KEY_PASSPHRASE or --key-passphrase-file).',
      }),
    ),
    refundWindowDays: Type.Integer({
      minimum: 0,
      maximum: 365,
      default: 30,
      description: 'Days after issue during which an unused indicium may be refunded.',
    }),
    authorityUrl: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description:
          "The postal authority's pipeline API: before a refund, ask it whether the piece was seen in the mail (GET /v1/sightings/{meter}/{serial}). Without it, every unrefunded piece inside the window is refundable.",
      }),
    ),
    maxAdvanceDays: Type.Integer({
      minimum: 0,
      maximum: 60,
      default: 30,
      description: 'How many days ahead a mailing date may be.',
    }),
    timeZone: Type.String({
      default: 'UTC',
      description: 'IANA time zone whose calendar gives the default mailing date.',
    }),
    rateLimitPerMinute: Type.Integer({
      minimum: 1,
      default: 6000,
      description: 'Requests per minute per API key (or per address without one).',
    }),
    ratesFile: Type.Optional(
      Type.String({ description: 'A rate table JSON file; default the sample table in central/rates/.' }),
    ),
    tlsCert: Type.Optional(Type.String({ description: 'PEM certificate file: serve HTTPS.' })),
    tlsKey: Type.Optional(Type.String({ description: 'PEM private key file for --tls-cert.' })),
    maxBatch: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 512,
      description: 'Most pieces committed in one transaction.',
    }),
    verifyAfterSign: Type.Boolean({
      default: true,
      description: 'Verify every signature before handing it out (a guard against signing faults).',
    }),
    signerThread: Type.Boolean({
      default: true,
      description:
        'Open the private keys in a worker thread that signs on the second core; false signs in the main thread.',
    }),
    bodyLimitBytes: Type.Integer({
      minimum: 1024,
      default: 16_384,
      description: 'Largest request body, in bytes.',
    }),
    logLevel: Type.Union(
      [
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('silent'),
      ],
      {
        default: 'info',
      },
    ),
  },
  { additionalProperties: false },
);
export type CentralConfig = Static<typeof CentralConfigSchema>;

export interface ConfigNotice {
  warn: string;
}

/** Read a dev secret from `file`, or make one (mode 0600) and say so. */
function devSecret(file: string, notices: ConfigNotice[], what: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const s = randomBytes(24).toString('base64url');
  writeFileSync(file, `${s}\n`, { mode: 0o600 });
  notices.push({
    warn: `no ${what} configured: generated one into ${file} (mode 0600). Configure it for production.`,
  });
  return s;
}

/**
 * Build and validate the configuration. Throws an Error naming the first bad field. `notices`
 * collects warnings for the caller to log (dev secrets generated into the data folder).
 */
export function resolveConfig(
  flags: Partial<CentralConfig> & { dataDir: string; keyPassphraseFile?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): { config: CentralConfig; notices: ConfigNotice[] } {
  const notices: ConfigNotice[] = [];
  const dataDir = resolve(flags.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { keyPassphraseFile, ...rest } = flags;
  const signer = flags.signer ?? `file:${join(dataDir, 'keys')}`;
  let keyPassphrase = flags.keyPassphrase ?? env.SIGPOST_KEY_PASSPHRASE;
  if (!keyPassphrase && keyPassphraseFile) keyPassphrase = readFileSync(keyPassphraseFile, 'utf8').trim();
  if (!keyPassphrase && signer.startsWith('file:')) {
    keyPassphrase = devSecret(join(dataDir, 'keystore.passphrase'), notices, 'key passphrase');
  }
  const adminToken =
    flags.adminToken ??
    env.SIGPOST_ADMIN_TOKEN ??
    devSecret(join(dataDir, 'admin.token'), notices, 'admin token (SIGPOST_ADMIN_TOKEN)');
  const candidate = Value.Default(CentralConfigSchema, {
    ...rest,
    dataDir,
    signer,
    adminToken,
    ...(env.SIGPOST_FEED_TOKEN && !flags.feedToken ? { feedToken: env.SIGPOST_FEED_TOKEN } : {}),
    ...(keyPassphrase ? { keyPassphrase } : {}),
  });
  for (const [k, v] of Object.entries(candidate as object))
    if (v === undefined) delete (candidate as Record<string, unknown>)[k];
  if (!Value.Check(CentralConfigSchema, candidate)) {
    const e = Value.Errors(CentralConfigSchema, candidate).First();
    const field = e?.path.replace(/^\//, '') || '(config)';
    throw new Error(`invalid configuration: ${field}: ${e?.message}`);
  }
  if ((candidate.tlsCert === undefined) !== (candidate.tlsKey === undefined)) {
    throw new Error('invalid configuration: tlsCert and tlsKey go together');
  }
  try {
    new Intl.DateTimeFormat('en', { timeZone: candidate.timeZone });
  } catch {
    throw new Error(`invalid configuration: timeZone: unknown time zone "${candidate.timeZone}"`);
  }
  return { config: candidate, notices };
}
