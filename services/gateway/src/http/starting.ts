/**
 * What the gateway's port answers while start() still waits (NATS not connected yet, its buckets and
 * streams not open): `GET /healthz` 200 (the process answers), everything else — `/readyz` included
 * — 503 `unavailable` in the usual error body, and WebSocket upgrades 503. The port is bound before
 * the wait and the full app takes the same server over once it is ready (app.ts), so an orchestrator
 * sees "alive, not ready" instead of a refused connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Locale, ParleyError } from '@parley/protocol';
import { toHttpError } from '../errors.js';

export interface StartingResponder {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex): void;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const UPGRADE_REFUSED = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

const ignore = () => undefined;

export function createStartingResponder(locale: Locale): StartingResponder {
  const unavailable = JSON.stringify(toHttpError(new ParleyError('unavailable'), locale).body);
  const alive = JSON.stringify({ status: 'ok' });
  return {
    request(req, res) {
      const path = (req.url ?? '').split('?')[0]?.replace(/\/$/, '');
      const head = req.method === 'HEAD';
      const ok = path === '/healthz' && (req.method === 'GET' || head);
      const body = ok ? alive : unavailable;
      res.writeHead(ok ? 200 : 503, {
        'content-type': JSON_TYPE,
        'content-length': Buffer.byteLength(body),
        'x-content-type-options': 'nosniff',
      });
      res.end(head ? undefined : body);
    },
    upgrade(_req, socket) {
      // node removes its own error listener from an upgraded socket: a reset must not crash the process
      socket.on('error', ignore);
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      socket.once('finish', () => socket.destroy());
      socket.end(UPGRADE_REFUSED);
    },
  };
}
