/** Where a JWT travels (PROTOCOL.md §1, §5). Never log what these return. */
import type { IncomingMessage } from 'node:http';

/** What an upgrade request carries: no credential, one token, or credentials that disagree. */
export type UpgradeCredentials =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  /** two or more credentials that are not the same token: refused (PROTOCOL.md §1) */
  | { kind: 'conflict' };

/**
 * WebSocket upgrade: `?token=`, `Authorization: Bearer`, or the `bearer, <JWT>` sub-protocol pair.
 * Every place is read, each as often as it occurs (a repeated query parameter, a repeated header,
 * `bearer` twice in the protocol list): the same token more than once is one credential, two
 * different ones are a conflict. `url.searchParams` must come from the request's own target.
 */
export function credentialsFromUpgrade(req: IncomingMessage, url: URL): UpgradeCredentials {
  const found = new Set<string>();
  for (const q of url.searchParams.getAll('token')) if (q) found.add(q);
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'authorization') continue;
    const header = bearerFrom(raw[i + 1], ['bearer']);
    if (header) found.add(header);
  }
  const protocols = (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  protocols.forEach((p, i) => {
    if (p.toLowerCase() === 'bearer' && protocols[i + 1]) found.add(protocols[i + 1]!);
  });
  if (found.size === 0) return { kind: 'none' };
  if (found.size > 1) return { kind: 'conflict' };
  const [token] = found;
  return { kind: 'token', token: token! };
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
