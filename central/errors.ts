/**
 * The central signer's error catalog. Internal code throws `CentralError` with a catalog code;
 * only the HTTP edge (http/problem.ts) turns it into application/problem+json. The table in
 * ERRORS.md is checked against this catalog by a test.
 */
export const ERRORS = {
  invalid_request: { status: 400, title: 'The request is not valid' },
  idempotency_key_required: { status: 400, title: 'An Idempotency-Key header is required' },
  unauthenticated: { status: 401, title: 'A valid API key is required' },
  insufficient_funds: { status: 402, title: 'The balance does not cover the postage' },
  forbidden: { status: 403, title: 'This credential may not do that' },
  account_suspended: { status: 403, title: 'The account is suspended' },
  not_found: { status: 404, title: 'No such resource' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  already_refunded: { status: 409, title: 'The indicium was already refunded' },
  indicium_used: { status: 409, title: 'The indicium was already used in the mail' },
  meter_exhausted: { status: 409, title: 'The meter has issued its last serial' },
  conflict: { status: 409, title: 'The resource is not in a state that allows this' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was used with a different request' },
  unknown_mail_class: { status: 422, title: 'The mail class is not in the rate table' },
  overweight: { status: 422, title: 'The piece is heavier than its mail class allows' },
  invalid_zip: { status: 422, title: 'The ZIP Code is not valid' },
  invalid_mailing_date: { status: 422, title: 'The mailing date is outside the allowed range' },
  refund_window_closed: { status: 422, title: 'The refund window for this indicium has closed' },
  rate_limited: { status: 429, title: 'Too many requests for this API key' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'The service is not available right now' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class CentralError extends Error {
  override readonly name = 'CentralError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(detail ? `${code}: ${detail}` : code);
    this.status = ERRORS[code].status;
  }
}

export function fail(code: ErrorCode, detail?: string, extra?: Record<string, unknown>): never {
  throw new CentralError(code, detail, extra);
}
