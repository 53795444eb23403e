/**
 * The one error catalogue. A code is stable wire vocabulary (PROTOCOL.md §2);
 * code branches on `code`, never on a message. Exactly two places translate a
 * ParleyError into something a client sees: the bus's handler wrapper (into a
 * NATS service error) and the gateway (into a frame or an HTTP body).
 */
export const ERROR_CATALOGUE = {
  bad_request: { status: 400, retryable: false, en: 'Bad request', ru: 'Некорректный запрос' },
  unknown_event: { status: 400, retryable: false, en: 'Unknown event', ru: 'Неизвестное событие' },
  validation_error: { status: 400, retryable: false, en: 'Invalid parameters', ru: 'Некорректные параметры' },
  unauthorized: { status: 401, retryable: false, en: 'Authentication required', ru: 'Требуется авторизация' },
  forbidden: { status: 403, retryable: false, en: 'Forbidden', ru: 'Доступ запрещён' },
  not_found: { status: 404, retryable: false, en: 'Not found', ru: 'Не найдено' },
  /** HTTP only: a known path asked with a method it does not serve (the answer carries `Allow`) */
  method_not_allowed: {
    status: 405,
    retryable: false,
    en: 'Method not allowed',
    ru: 'Метод не поддерживается',
  },
  payload_too_large: {
    status: 413,
    retryable: false,
    en: 'Payload too large',
    ru: 'Слишком большой объём данных',
  },
  rate_limited: { status: 429, retryable: true, en: 'Too many requests', ru: 'Слишком много запросов' },
  internal: { status: 500, retryable: true, en: 'Internal error', ru: 'Внутренняя ошибка' },
  unavailable: {
    status: 503,
    retryable: true,
    en: 'Service unavailable, try again',
    ru: 'Сервис недоступен, попробуйте позже',
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** Why a field failed validation; picks the sentence shown to people. */
export type FieldReason = 'required' | 'invalid' | 'too_long' | 'blank';

export interface ErrorBody {
  code: ErrorCode;
  /** English, safe to show: built from the catalogue and field names only. */
  message: string;
  field?: string;
  reason?: FieldReason;
}

export class ParleyError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly reason?: FieldReason;

  constructor(code: ErrorCode, opts: { field?: string; reason?: FieldReason; message?: string } = {}) {
    super(opts.message ?? defaultMessage(code, opts.field, opts.reason));
    this.name = 'ParleyError';
    this.code = code;
    if (opts.field !== undefined) this.field = opts.field;
    if (opts.reason !== undefined) this.reason = opts.reason;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  get retryable(): boolean {
    return ERROR_CATALOGUE[this.code].retryable;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.field !== undefined) body.field = this.field;
    if (this.reason !== undefined) body.reason = this.reason;
    return body;
  }

  static fromBody(body: Partial<ErrorBody> | undefined): ParleyError {
    const code = body?.code && isErrorCode(body.code) ? body.code : 'internal';
    const opts: { field?: string; reason?: FieldReason; message?: string } = {};
    if (typeof body?.field === 'string') opts.field = body.field;
    if (body?.reason) opts.reason = body.reason;
    if (code !== 'internal' && typeof body?.message === 'string') opts.message = body.message;
    return new ParleyError(code, opts);
  }

  static invalid(field: string, reason: FieldReason = 'invalid'): ParleyError {
    return new ParleyError('validation_error', { field, reason });
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** Any thrown value → a ParleyError; unknown errors become `internal`. */
export function toParleyError(err: unknown): ParleyError {
  return err instanceof ParleyError ? err : new ParleyError('internal');
}

function defaultMessage(code: ErrorCode, field?: string, reason?: FieldReason): string {
  if (code === 'validation_error' && field) {
    switch (reason) {
      case 'required':
        return `${field} is required`;
      case 'too_long':
        return `${field} is too long`;
      case 'blank':
        return `${field} must not be blank`;
      default:
        return `${field} is invalid`;
    }
  }
  return ERROR_CATALOGUE[code].en;
}

export type Locale = 'ru' | 'en';

/** The human sentence of PROTOCOL.md §2 `data` (existing clients toast it). */
export function humanMessage(err: ParleyError | ErrorBody, locale: Locale): string {
  const { code, field, reason } = err;
  if (code === 'validation_error' && field) {
    if (locale === 'en') return defaultMessage(code, field, reason);
    switch (reason) {
      case 'required':
        return `Не указан \`${field}\``;
      case 'too_long':
        return `Слишком длинное значение \`${field}\``;
      case 'blank':
        return `Пустое значение \`${field}\``;
      default:
        return `Некорректное значение \`${field}\``;
    }
  }
  return ERROR_CATALOGUE[code][locale];
}
