/**
 * The browser client (services/gateway/public): `GET /` is index.html, `GET /app/<file>` the files of
 * a fixed allow-list — a name is looked up, never joined to a path, so nothing else is reachable.
 * Files are read once by load() (at start); every answer carries a strict CSP and `nosniff`.
 */
import { readFile } from 'node:fs/promises';
import { ParleyError } from '@parley/protocol';
import type { FastifyRequest } from 'fastify';
import { errors } from './openapi.js';
import type { HttpRoute } from './route.js';

/** `public/` of the package: one level above both `src/http` (jest) and `dist/http` (run time) */
export const PUBLIC_DIR = new URL('../../public/', import.meta.url);

export const CLIENT_CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; " +
  "script-src 'self'; frame-ancestors 'none'";

/** file name → content type; the only files ever served */
const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
} as const;

type FileName = keyof typeof FILES;

export interface ClientFiles {
  load(): Promise<void>;
  get(name: string): { body: Buffer; type: string } | undefined;
}

export function createClientFiles(dir: URL = PUBLIC_DIR): ClientFiles {
  const loaded = new Map<string, { body: Buffer; type: string }>();
  return {
    async load() {
      for (const [name, type] of Object.entries(FILES)) {
        loaded.set(name, { body: await readFile(new URL(name, dir)), type });
      }
    },
    get: (name) => (Object.hasOwn(FILES, name) ? loaded.get(name as FileName) : undefined),
  };
}

export function clientRoutes(files: ClientFiles): HttpRoute[] {
  const serve =
    (pick: (request: FastifyRequest) => string): HttpRoute['handle'] =>
    async (request, reply) => {
      // `/app/app.js/` is not a file (the router ignores trailing slashes for the API paths)
      const path = request.url.split('?')[0] ?? '';
      const file = path.length > 1 && path.endsWith('/') ? undefined : files.get(pick(request));
      if (!file) throw new ParleyError('not_found');
      return reply
        .headers({
          'content-type': file.type,
          'content-security-policy': CLIENT_CSP,
          'referrer-policy': 'no-referrer',
          'cache-control': 'no-cache',
        })
        .send(file.body);
    };
  const schema = (summary: string) => ({
    summary,
    tags: ['client'],
    response: { 200: { description: 'the file' }, ...errors(404) },
  });
  return [
    {
      method: 'GET',
      url: '/',
      name: 'client',
      schema: schema('The browser client'),
      handle: serve(() => 'index.html'),
    },
    {
      method: 'GET',
      url: '/app/:file',
      name: 'client.file',
      schema: {
        ...schema('A file of the browser client (a fixed allow-list)'),
        params: { type: 'object', properties: { file: { type: 'string' } }, required: ['file'] },
      },
      handle: serve((request) => (request.params as { file?: string }).file ?? ''),
    },
  ];
}
