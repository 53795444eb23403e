/**
 * The gateway's HTTP app on fastify: the route table registered with its per-route rate limits,
 * CORS (ALLOWED_ORIGINS), the OpenAPI document, a child logger per request with its id, metrics per
 * route, 405 + `Allow` for a known path asked with another method, HEAD for every GET, and every
 * failure — a handler's, a plugin's, fastify's own, a malformed request line — answered as
 * `{detail, code}` through errors.ts. Building it has no side effects; the caller listens.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { Logger } from '@parley/logger';
import { asyncapiDocument, type Locale, ParleyError } from '@parley/protocol';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerFactory,
  LogController,
} from 'fastify';
import { toHttpError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { registerBodyParsers } from './body.js';
import { OPENAPI_PATH, registerOpenApi } from './openapi.js';
import type { HttpMethod, HttpRoute, RateLimitClass } from './route.js';

export interface HttpLimits {
  /** requests per minute per user (per IP when anonymous) on each route */
  generalPerMin: number;
  /** POST /api/dialogs/new-message/ per user per hour */
  newMessagePerHour: number;
}

export interface HttpAppDeps {
  routes: HttpRoute[];
  logger: Logger;
  metrics: GatewayMetrics;
  locale: Locale;
  /** default body cap, bytes */
  maxJsonBytes: number;
  limits: HttpLimits;
  /** who a request counts against: `user:<id>` when it carries a valid token, else `ip:<addr>` */
  rateKey(request: FastifyRequest): Promise<string>;
  /** requests no limit applies to (the admin API's valid token: the platform's own backend) */
  unlimited(request: FastifyRequest): boolean;
  /** browser origins allowed by CORS; null: none (same-origin only) */
  allowedOrigins: string[] | null;
  version: string;
  /** subject prefix named in the AsyncAPI document's NATS channels */
  subjectPrefix: string;
  /**
   * the server the app answers on, given fastify's request handler (the gateway's, bound before
   * start-up waited for NATS; it switches to the handler once the app is ready). Default: fastify's own.
   */
  serverFactory?: (handler: (req: IncomingMessage, res: ServerResponse) => void) => Server;
}

const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const JSON_TYPE = 'application/json; charset=utf-8';

export interface HttpApp {
  app: FastifyInstance;
  /** every route registered on the app (any plugin's too) that is not hidden, HEAD aside */
  registered: Array<{ method: string; url: string }>;
}

export async function createHttpApp(deps: HttpAppDeps): Promise<HttpApp> {
  const { locale } = deps;
  const table: HttpRoute[] = [
    ...deps.routes,
    {
      method: 'GET',
      url: OPENAPI_PATH,
      name: 'openapi',
      limit: 'general',
      schema: { summary: 'This document (OpenAPI 3.1)', tags: ['operations'] },
      handle: async () => app.swagger(),
    },
    {
      method: 'GET',
      url: '/asyncapi.json',
      name: 'asyncapi',
      limit: 'general',
      schema: {
        summary: 'The WebSocket API, NATS subjects and domain events (AsyncAPI 3)',
        tags: ['operations'],
      },
      handle: async () => asyncapi,
    },
  ];
  // built once: the document depends only on the subject prefix
  const asyncapi = asyncapiDocument(deps.subjectPrefix);
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // our own debug line per request (onResponse); never fastify's, which would log the URL
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: () => `h${randomBytes(8).toString('hex')}`,
    requestIdHeader: false,
    bodyLimit: deps.maxJsonBytes,
    return503OnClosing: false,
    ...(deps.serverFactory ? { serverFactory: givenServer(deps.serverFactory) } : {}),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    // a path that does not decode (`/%`, `/%zz`): answered like any error, through errors.ts
    frameworkErrors: (err, request, rawReply) => {
      const reply = rawReply as FastifyReply;
      const path = (request.raw.url ?? '').split('?')[0] ?? '';
      const route =
        err.code === 'FST_ERR_BAD_URL' ? table.find((r) => r.undecodable?.path.test(path)) : undefined;
      const { status, body } = toHttpError(
        new ParleyError(route?.undecodable?.code ?? 'bad_request'),
        locale,
      );
      reply.code(status).type(JSON_TYPE).send(body);
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      // a request that never became one (bad request line, header flood, timeout): answer and close
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const body = JSON.stringify(toHttpError(new ParleyError('bad_request'), locale).body);
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: ${JSON_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    },
  });
  // schemas document; zod validates (call.ts); answers are serialised as they are
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  registerBodyParsers(app);
  const registered: HttpApp['registered'] = [];
  app.addHook('onRoute', (route) => {
    if ((route.schema as { hide?: boolean } | undefined)?.hide) return;
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') registered.push({ method, url: route.url });
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    request.log = request.log.child({ route: request.routeOptions.config.name ?? 'unmatched' });
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
  });
  // a plugin that answers an error itself (CORS' "Invalid Preflight Request") still answers ours
  app.addHook('onSend', async (_request, reply, payload) => {
    if (
      reply.statusCode < 400 ||
      String(reply.getHeader('content-type') ?? '').startsWith('application/json')
    ) {
      return payload;
    }
    const { status, body } = toHttpError({ statusCode: reply.statusCode }, locale);
    reply.code(status).type(JSON_TYPE);
    return JSON.stringify(body);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.config.name ?? 'unmatched';
    deps.metrics.http.inc({ route, status: String(reply.statusCode) });
    request.log.debug(
      { method: request.method, status: reply.statusCode, ms: +reply.elapsedTime.toFixed(1) },
      'http',
    );
  });

  app.setErrorHandler(async (err, request, reply) => {
    const { status, body } = toHttpError(err, locale);
    if (body.code === 'internal') request.log.error({ err }, 'http handler failed');
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return reply;
    }
    if (!request.raw.complete) reply.header('connection', 'close');
    return reply.code(status).type(JSON_TYPE).send(body);
  });
  app.setNotFoundHandler(async () => {
    throw new ParleyError('not_found');
  });

  await app.register(cors, {
    origin: deps.allowedOrigins ?? false,
    methods: [...METHODS, 'HEAD'],
    allowedHeaders: ['authorization', 'content-type'],
    exposedHeaders: ['retry-after', 'x-request-id'],
    maxAge: 600,
  });
  await app.register(rateLimit, {
    global: false,
    keyGenerator: deps.rateKey,
    allowList: (request) => deps.unlimited(request),
    errorResponseBuilder: () => new ParleyError('rate_limited'),
  });
  await registerOpenApi(app, deps.version);

  for (const route of table) {
    const limit = rateLimitOf(route.limit ?? 'general', deps.limits);
    app.route({
      method: route.method,
      url: route.url,
      schema: { ...route.schema, operationId: route.name },
      ...(route.bodyLimit ? { bodyLimit: route.bodyLimit } : {}),
      config: {
        name: route.name,
        streamBody: route.streamBody ?? false,
        rateLimit: limit ?? false,
      },
      handler: (request, reply) => route.handle(request, reply),
    });
  }
  registerMethodNotAllowed(app, table);
  return { app, registered };
}

/** the given server, with the timeouts fastify sets on a server it creates itself */
function givenServer(factory: NonNullable<HttpAppDeps['serverFactory']>): FastifyServerFactory {
  return (handler, options) => {
    const server = factory(handler);
    // fastify has filled in its defaults by the time it calls the factory
    const opts = options as {
      keepAliveTimeout?: number;
      requestTimeout?: number;
      connectionTimeout?: number;
      maxRequestsPerSocket?: number;
    };
    if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
    if (opts.requestTimeout !== undefined) server.requestTimeout = opts.requestTimeout;
    if (opts.connectionTimeout !== undefined) server.setTimeout(opts.connectionTimeout);
    if (opts.maxRequestsPerSocket) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
    return server;
  };
}

function rateLimitOf(cls: RateLimitClass, limits: HttpLimits): { max: number; timeWindow: number } | null {
  switch (cls) {
    case 'general':
      return { max: limits.generalPerMin, timeWindow: 60_000 };
    case 'new_message':
      return { max: limits.newMessagePerHour, timeWindow: 3_600_000 };
    case 'none':
      return null;
  }
}

/** every other method of a known path → 405 with `Allow` (hidden from the OpenAPI document) */
function registerMethodNotAllowed(app: FastifyInstance, table: HttpRoute[]): void {
  const byUrl = new Map<string, Set<HttpMethod>>();
  for (const r of table) byUrl.set(r.url, (byUrl.get(r.url) ?? new Set()).add(r.method));
  for (const [url, served] of byUrl) {
    const allow = [...served];
    if (served.has('GET')) allow.splice(allow.indexOf('GET') + 1, 0, 'HEAD' as HttpMethod);
    const others = METHODS.filter((m) => !served.has(m));
    if (!served.has('GET')) others.push('HEAD' as HttpMethod);
    if (!others.length) continue;
    app.route({
      method: others,
      url,
      schema: { hide: true },
      config: { name: 'method_not_allowed' },
      handler: async (_request, reply) => {
        reply.header('allow', allow.join(', '));
        throw new ParleyError('method_not_allowed');
      },
    });
  }
}
