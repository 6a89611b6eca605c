/**
 * The HTTP edge of the error catalog: every error leaves as application/problem+json (RFC 9457)
 * with a stable `code`. 5xx bodies never carry internals; those go to the log.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CentralError, ERRORS, type ErrorCode } from '../errors.ts';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'urn:sigpost:problem:<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable code; see ERRORS.md.' }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: true },
);
export type Problem = Static<typeof ProblemSchema>;

export function problemBody(
  code: ErrorCode,
  detail: string | undefined,
  instance: string,
  extra?: Record<string, unknown>,
): Problem {
  const e = ERRORS[code];
  return {
    type: `urn:sigpost:problem:${code}`,
    title: e.title,
    status: e.status,
    code,
    ...(detail ? { detail } : {}),
    instance,
    ...extra,
  };
}

export function sendProblem(
  reply: FastifyReply,
  req: FastifyRequest,
  code: ErrorCode,
  detail?: string,
  extra?: Record<string, unknown>,
) {
  return reply
    .status(ERRORS[code].status)
    .type('application/problem+json')
    .send(problemBody(code, detail, req.url.split('?')[0]!, extra));
}

/** Fastify's own error codes, mapped onto the catalog. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
};

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | CentralError, req, reply) => {
    if (err instanceof CentralError) {
      if (err.status >= 500) req.log.error({ err, cause: err.cause }, 'request failed');
      return sendProblem(reply, req, err.code, err.status >= 500 ? undefined : err.detail, err.extra);
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const errors = fe.validation.map((v) => ({
        field: `${fe.validationContext ?? 'body'}${v.instancePath || ''}`,
        message: v.message ?? 'is invalid',
      }));
      const first = errors[0];
      return sendProblem(
        reply,
        req,
        'invalid_request',
        first ? `${first.field} ${first.message}` : fe.message,
        { errors },
      );
    }
    if (fe.statusCode === 429) return sendProblem(reply, req, 'rate_limited', fe.message);
    const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
    if (mapped) return sendProblem(reply, req, mapped, fe.message);
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return sendProblem(
        reply,
        req,
        fe.statusCode === 404
          ? 'not_found'
          : fe.statusCode === 405
            ? 'method_not_allowed'
            : 'invalid_request',
        fe.message,
      );
    }
    req.log.error({ err }, 'unhandled error');
    return sendProblem(reply, req, 'internal');
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, req, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`),
  );
}
