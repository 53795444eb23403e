/** JSON on the wire for every internal NATS message. */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Decode a JSON payload; throws SyntaxError on bad input (callers turn it into `bad_request`). */
export function decode<T = unknown>(data: Uint8Array): T {
  return JSON.parse(decoder.decode(data)) as T;
}

/** Header names Parley sets on internal messages. */
export const HEADERS = {
  REQUEST_ID: 'Parley-Request-Id',
  /** NATS micro-service convention: a short description and a numeric code */
  SERVICE_ERROR: 'Nats-Service-Error',
  SERVICE_ERROR_CODE: 'Nats-Service-Error-Code',
} as const;
