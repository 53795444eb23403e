/**
 * The browser client (services/gateway/public): `GET /` is index.html, `GET /app/<file>` the files of
 * a fixed allow-list — a name is looked up, never joined to a path, so nothing else is reachable.
 * Files are read once by load() (at start); every answer carries a strict CSP and `nosniff`.
 */
import { readFile } from 'node:fs/promises';
import { ParleyError } from '@parley/protocol';
import type { Route } from './router.js';

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

export function clientRoutes(files: ClientFiles): Route[] {
  const serve =
    (pick: (params: string[]) => string): Route['handle'] =>
    async ({ res, params }) => {
      const file = files.get(pick(params));
      if (!file) throw new ParleyError('not_found');
      res.writeHead(200, {
        'content-type': file.type,
        'content-length': file.body.length,
        'content-security-policy': CLIENT_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
      });
      res.end(file.body);
      return undefined;
    };
  return [
    { method: 'GET', path: /^\/$/, name: 'client', handle: serve(() => 'index.html') },
    { method: 'GET', path: /^\/app\/([\w.-]+)$/, name: 'client.file', handle: serve((p) => p[0] ?? '') },
  ];
}
