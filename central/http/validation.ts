/**
 * Request validation. Bodies are checked strictly: no type coercion ("1000" is not 1000) and no
 * silent removal of unknown fields (a misspelt or unexpected field is a 400, not ignored).
 * Query strings, path parameters and headers arrive as text, so there types are coerced.
 */
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

function ajv(opts: Options): Ajv {
  const a = new Ajv({ allErrors: false, useDefaults: true, removeAdditional: false, strict: false, ...opts });
  addFormats.default(a);
  return a;
}

export function installValidation(app: FastifyInstance): void {
  const body = ajv({ coerceTypes: false });
  const text = ajv({ coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema));
  // A POST whose body is all optional may be sent with no body at all (curl -X POST ...).
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.routeOptions.schema?.body) req.body = {};
  });
}
