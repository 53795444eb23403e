/**
 * The only place in the gateway that turns an error into something a client sees: an error frame
 * (PROTOCOL.md §2) or an HTTP error body (§5). Anything that is not a ParleyError becomes `internal`.
 */
import {
  type ErrorCode,
  type ErrorFrame,
  errorFrame,
  humanMessage,
  type Locale,
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

export function toHttpError(err: unknown, locale: Locale): { status: number; body: HttpErrorBody } {
  const perr = toParleyError(err);
  const body: HttpErrorBody = { detail: humanMessage(perr, locale), code: perr.code };
  if (perr.field !== undefined) body.field = perr.field;
  return { status: perr.status, body };
}
