/**
 * One-click unsubscribe from notification e-mails (RFC 8058): `POST /api/unsubscribe/<user_id>/<token>`
 * turns the user's `email_notifications` off; `GET` of the same URL shows a small page whose form
 * POSTs there (mail clients without one-click; link scanners that GET change nothing).
 * No JWT: the signed token (libs/protocol `unsubscribe.ts`) is the capability. A missing, forged or
 * other user's token is `forbidden`, before any body is read or any RPC is sent.
 */
import type { RpcClient } from '@parley/bus';
import {
  type Locale,
  ParleyError,
  parseUnsubscribeUserId,
  UNSUBSCRIBE_PATH,
  unsubscribePath,
  verifyUnsubscribeToken,
} from '@parley/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { call } from './call.js';
import { errors } from './openapi.js';
import type { HttpRoute } from './route.js';

export interface UnsubscribeDeps {
  rpc: RpcClient;
  /** JWT_SECRET: the mailer signs the links with it */
  secret: string;
  locale: Locale;
}

/** RFC 8058 bodies are `List-Unsubscribe=One-Click`; anything up to this is accepted and ignored. */
const MAX_BODY_BYTES = 1024;

/** no scripts, styles, images or frames; the form may only post back here */
export const UNSUBSCRIBE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'";

const words = {
  ru: {
    title: 'Уведомления по e-mail',
    ask: 'Отключить уведомления о новых сообщениях по e-mail?',
    button: 'Отключить',
    done: 'Уведомления о новых сообщениях по e-mail отключены.',
  },
  en: {
    title: 'E-mail notifications',
    ask: 'Turn off e-mail notifications about new messages?',
    button: 'Turn off',
    done: 'E-mail notifications about new messages are off.',
  },
} as const;

/** the path of PROTOCOL.md §6 links (libs/protocol UNSUBSCRIBE_PATH) in the router's syntax */
const URL_PATTERN = '/api/unsubscribe/:user_id/:token';

const params = {
  type: 'object',
  required: ['user_id', 'token'],
  properties: { user_id: { type: 'string' }, token: { type: 'string' } },
};

export function unsubscribeRoutes(deps: UnsubscribeDeps): HttpRoute[] {
  const w = words[deps.locale];
  return [
    {
      method: 'POST',
      url: URL_PATTERN,
      name: 'unsubscribe',
      bodyLimit: MAX_BODY_BYTES,
      undecodable: { path: UNSUBSCRIBE_PATH, code: 'forbidden' },
      schema: {
        summary: 'One-click unsubscribe (RFC 8058): e-mail notifications off',
        tags: ['users'],
        params,
        response: {
          200: {
            description: 'done (HTML when the form asked for it)',
            type: 'object',
            properties: { email_notifications: { type: 'boolean' } },
          },
          ...errors(403, 413, 429, 503),
        },
      },
      async handle(request, reply) {
        const { userId } = verified(deps.secret, request);
        const caller = { user_id: userId, conn_id: null };
        const update = { email_notifications: false };
        const { data } = await call(deps.rpc, 'users.update_me', { caller, params: update }, request.id);
        if (wantsHtml(request)) {
          return sendHtml(reply, page(deps.locale, w.title, `<p>${escapeHtml(w.done)}</p>`));
        }
        return { email_notifications: data.email_notifications };
      },
    },
    {
      method: 'GET',
      url: URL_PATTERN,
      name: 'unsubscribe.page',
      undecodable: { path: UNSUBSCRIBE_PATH, code: 'forbidden' },
      schema: {
        summary: 'The page whose form POSTs the one-click unsubscribe',
        tags: ['users'],
        params,
        response: { 200: { description: 'HTML page' }, ...errors(403, 429) },
      },
      async handle(request, reply) {
        const { userId, token } = verified(deps.secret, request);
        const action = unsubscribePath(userId, token);
        const form = `<p>${escapeHtml(w.ask)}</p>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">${escapeHtml(w.button)}</button>
</form>`;
        return sendHtml(reply, page(deps.locale, w.title, form));
      },
    },
  ];
}

/** The path's user id and token when the token is this user's; `forbidden` otherwise (malformed included). */
function verified(secret: string, request: FastifyRequest): { userId: number; token: string } {
  const p = request.params as { user_id?: string; token?: string };
  const userId = parseUnsubscribeUserId(p.user_id ?? '');
  const token = p.token ?? '';
  if (userId === null || !verifyUnsubscribeToken(secret, userId, token)) {
    throw new ParleyError('forbidden', { message: 'invalid unsubscribe link' });
  }
  return { userId, token };
}

/** A browser submitting the page's form asks for HTML; one-click mail clients do not. */
function wantsHtml(request: FastifyRequest): boolean {
  return /\btext\/html\b/i.test(request.headers.accept ?? '');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(locale: Locale, title: string, content: string): string {
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${content}
</body>
</html>
`;
}

function sendHtml(reply: FastifyReply, html: string): FastifyReply {
  return reply
    .code(200)
    .headers({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': UNSUBSCRIBE_CSP,
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    })
    .send(html);
}
