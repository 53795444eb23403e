/**
 * What an HTTP route is in the gateway: one entry of the route table (method, path, name, OpenAPI
 * schema, limits) and its handler. `server.ts` registers the table on fastify; the schema documents
 * the route (GET /openapi.json) while the input itself is validated by the command's own zod schema
 * (call.ts), so there is one validator per input.
 */
import type { ErrorCode } from '@parley/protocol';
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** which per-route limiter applies (config: HTTP_RATE_LIMIT_PER_MIN, NEW_MESSAGE_RATE_LIMIT_PER_HOUR) */
export type RateLimitClass = 'general' | 'new_message' | 'none';

export interface HttpRoute {
  method: HttpMethod;
  /** fastify path: `:param`, `*` for the rest */
  url: string;
  /** metric label, log field and OpenAPI operationId */
  name: string;
  schema: FastifySchema & { summary: string; tags: string[] };
  /** default: `general` */
  limit?: RateLimitClass;
  /** largest body read for this route, bytes (default: the JSON cap) */
  bodyLimit?: number;
  /** the handler reads `request.raw` itself (multipart uploads stream into the object store) */
  streamBody?: boolean;
  /**
   * a request whose path matches this but does not decode (a broken %-escape) is answered with this
   * code instead of `bad_request` (a capability link with a mangled token is just a wrong link)
   */
  undecodable?: { path: RegExp; code: ErrorCode };
  /** answers with a value (sent as JSON) or through `reply` (and returns it) */
  handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    name?: string;
    streamBody?: boolean;
  }
}
