/**
 * The only place in the gateway that turns an error into something a client sees: an error frame
 * (PROTOCOL.md §2) or an HTTP error body (§5). Anything that is not a ParleyError becomes `internal`,
 * except the HTTP framework's own 4xx refusals (bad URL, body too large, unsupported media type…),
 * which become the catalogue code of their status; their message is never shown.
 */
import {
  type ErrorCode,
  type ErrorFrame,
  errorFrame,
  humanMessage,
  type Locale,
  ParleyError,
  type RequestId,
  toParleyError,
} from '@parley/protocol';

export function toErrorFrame(event: string, err: unknown, locale: Locale, requestId?: RequestId): ErrorFrame {
  return errorFrame(event, toParleyError(err), locale, requestId);
}

export interface HttpErrorBody {
  detail: string;
  code: ErrorCode;
  field?: string;
}

/** a 4xx the framework (fastify, its plugins, node:http) raised itself → the catalogue's code */
const FRAMEWORK_STATUS: Record<number, ErrorCode> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  429: 'rate_limited',
};

function fromFramework(err: unknown): ParleyError {
  if (err instanceof ParleyError) return err;
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ParleyError(FRAMEWORK_STATUS[status] ?? 'bad_request');
  }
  return toParleyError(err);
}

/** `status` is always the catalogue status of `body.code`. */
export function toHttpError(err: unknown, locale: Locale): { status: number; body: HttpErrorBody } {
  const perr = fromFramework(err);
  const body: HttpErrorBody = { detail: humanMessage(perr, locale), code: perr.code };
  if (perr.field !== undefined) body.field = perr.field;
  return { status: perr.status, body };
}
