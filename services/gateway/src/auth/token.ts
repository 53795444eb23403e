/** Where a JWT travels (PROTOCOL.md §1, §5). Never log what these return. */
import type { IncomingMessage } from 'node:http';

/** WebSocket upgrade: `?token=`, `Authorization: Bearer`, or the `bearer, <JWT>` sub-protocol pair. */
export function tokenFromUpgrade(
  req: IncomingMessage,
  url: URL,
): { token: string | null; viaProtocol: boolean } {
  const q = url.searchParams.get('token');
  if (q) return { token: q, viaProtocol: false };
  const header = bearerFrom(req.headers.authorization, ['bearer']);
  if (header) return { token: header, viaProtocol: false };
  const protocols = (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const i = protocols.findIndex((p) => p.toLowerCase() === 'bearer');
  if (i >= 0 && protocols[i + 1]) return { token: protocols[i + 1]!, viaProtocol: true };
  return { token: null, viaProtocol: false };
}

/** HTTP API: `Authorization: JWT <token>` (the seed's style) or `Bearer <token>`. */
export function tokenFromHttp(req: IncomingMessage): string | null {
  return bearerFrom(req.headers.authorization, ['jwt', 'bearer']);
}

/** The credentials of `Authorization: <scheme> <credentials>` when the scheme is one of `schemes`. */
export function bearerFrom(header: string | undefined, schemes: string[]): string | null {
  if (!header) return null;
  const m = /^([A-Za-z]+) +(\S+)\s*$/.exec(header);
  if (!m || !schemes.includes(m[1]!.toLowerCase())) return null;
  return m[2]!;
}
