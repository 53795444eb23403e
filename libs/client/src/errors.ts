/**
 * The one error a client call rejects with. `code` is from the server's catalogue, so callers branch on
 * it exactly as the services do; `kind` says whether the server answered, the call timed out, or the
 * client was closed.
 */
import { ERROR_CATALOGUE, type ErrorCode, isErrorCode } from '@parley/protocol/errors';

export type ClientErrorKind = 'server' | 'timeout' | 'closed';

export interface ClientErrorInit {
  kind: ClientErrorKind;
  event: string;
  field?: string | undefined;
  /** the human sentence of the error frame (PROTOCOL.md §2 `data`), shown to people */
  sentence?: string | undefined;
}

export class ParleyClientError extends Error {
  readonly code: ErrorCode;
  readonly kind: ClientErrorKind;
  /** the event of the frame that failed */
  readonly event: string;
  readonly field?: string;
  readonly sentence?: string;

  constructor(code: ErrorCode, message: string, init: ClientErrorInit) {
    super(message);
    this.name = 'ParleyClientError';
    this.code = code;
    this.kind = init.kind;
    this.event = init.event;
    if (init.field !== undefined) this.field = init.field;
    if (init.sentence !== undefined) this.sentence = init.sentence;
  }

  /** whether the same call may succeed later (catalogue's `retryable`) */
  get retryable(): boolean {
    return ERROR_CATALOGUE[this.code].retryable;
  }

  /** an error frame of the server → the error */
  static fromFrame(frame: { event?: unknown; data?: unknown; error?: unknown }): ParleyClientError {
    const body = (frame.error ?? {}) as { code?: unknown; message?: unknown; field?: unknown };
    const code = isErrorCode(body.code) ? body.code : 'internal';
    const message = typeof body.message === 'string' ? body.message : ERROR_CATALOGUE[code].en;
    return new ParleyClientError(code, message, {
      kind: 'server',
      event: typeof frame.event === 'string' ? frame.event : 'error',
      field: typeof body.field === 'string' ? body.field : undefined,
      sentence: typeof frame.data === 'string' ? frame.data : undefined,
    });
  }
}
