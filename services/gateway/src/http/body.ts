/**
 * Request bodies. Every body is read by one catch-all parser as bytes (capped by the route's
 * bodyLimit → 413) and turned into a JSON object by the handler that wants one, whatever the
 * declared content type (the seed's clients do not always send one). A multipart body is left
 * unread for the route that streams it (uploads); on any other route it is read like the rest.
 */

import { ParleyError } from '@parley/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** what `request.body` is on a streaming route: the bytes are still in `request.raw` */
export const STREAMED = Symbol('streamed body');

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('multipart/form-data', (request: FastifyRequest, payload, done) => {
    if (request.routeOptions.config.streamBody) {
      done(null, STREAMED);
      return;
    }
    readAll(payload, request.routeOptions.bodyLimit).then(
      (buf) => done(null, buf),
      (err: unknown) => done(err as Error),
    );
  });
}

async function readAll(stream: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit) throw new ParleyError('payload_too_large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The body as a JSON object: none → `{}`; not JSON or not an object → `bad_request`. */
export function jsonObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (!Buffer.isBuffer(body)) throw new ParleyError('bad_request', { message: 'body is not valid JSON' });
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ParleyError('bad_request', { message: 'body is not valid JSON' });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ParleyError('bad_request', { message: 'body must be a JSON object' });
  }
  return value as Record<string, unknown>;
}
