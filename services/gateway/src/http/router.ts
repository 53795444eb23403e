/**
 * A small route table on plain node:http: match method + path, run the handler with a child
 * logger carrying the request id, answer JSON, and turn every failure into `{detail, code}` with
 * the catalogue status (through errors.ts). The query string is never logged.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@parley/logger';
import { type Locale, ParleyError, toParleyError } from '@parley/protocol';
import { toHttpError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';

export interface HttpContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** capture groups of the route's path pattern */
  params: string[];
  log: Logger;
  requestId: string;
}

/** A JSON answer; a handler that wrote the response itself returns nothing. */
export interface HttpResult {
  status: number;
  body: unknown;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: RegExp;
  /** metric label and log field */
  name: string;
  handle(ctx: HttpContext): Promise<HttpResult | undefined>;
}

export interface RouterDeps {
  routes: Route[];
  logger: Logger;
  metrics: GatewayMetrics;
  locale: Locale;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

export function createRouter(deps: RouterDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    const requestId = `h${randomBytes(8).toString('hex')}`;
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    let route: Route | undefined;
    let params: string[] = [];
    for (const r of deps.routes) {
      const m = r.path.exec(url.pathname);
      if (m && r.method === req.method) {
        route = r;
        params = m.slice(1);
        break;
      }
    }
    const name = route?.name ?? 'unmatched';
    const log = deps.logger.child({ request_id: requestId, route: name });
    res.setHeader('x-request-id', requestId);
    res.on('finish', () => {
      deps.metrics.http.inc({ route: name, status: String(res.statusCode) });
      log.debug(
        { method: req.method, status: res.statusCode, ms: +(performance.now() - started).toFixed(1) },
        'http',
      );
    });
    const run = async () => {
      if (!route) throw new ParleyError('not_found');
      const result = await route.handle({ req, res, url, params, log, requestId });
      if (result) sendJson(res, result.status, result.body);
    };
    run().catch((err: unknown) => {
      const perr = toParleyError(err);
      if (perr.code === 'internal') log.error({ err }, 'http handler failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const { status, body } = toHttpError(perr, deps.locale);
      if (!req.complete) res.setHeader('connection', 'close');
      sendJson(res, status, body);
    });
  };
}

/** Read a body of at most `maxBytes`; `payload_too_large` otherwise. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new ParleyError('payload_too_large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new ParleyError('payload_too_large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Read a JSON object body of at most `maxBytes`; `payload_too_large` / `bad_request` otherwise. */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const raw = await readBody(req, maxBytes);
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ParleyError('bad_request', { message: 'body is not valid JSON' });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ParleyError('bad_request', { message: 'body must be a JSON object' });
  }
  return value as Record<string, unknown>;
}
