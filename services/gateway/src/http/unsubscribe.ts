/**
 * One-click unsubscribe from notification e-mails (RFC 8058): `POST /api/unsubscribe/<user_id>/<token>`
 * turns the user's `email_notifications` off; `GET` of the same URL shows a small page whose form
 * POSTs there (mail clients without one-click; link scanners that GET change nothing).
 * No JWT: the signed token (libs/protocol `unsubscribe.ts`) is the capability. A missing, forged or
 * other user's token is `forbidden`, before any body is read or any RPC is sent.
 */
import type { ServerResponse } from 'node:http';
import type { RpcClient } from '@parley/bus';
import {
  type Locale,
  ParleyError,
  parseUnsubscribeUserId,
  UNSUBSCRIBE_PATH,
  unsubscribePath,
  verifyUnsubscribeToken,
} from '@parley/protocol';
import { call } from './call.js';
import { type HttpContext, type Route, readBody } from './router.js';

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

export function unsubscribeRoutes(deps: UnsubscribeDeps): Route[] {
  const w = words[deps.locale];
  return [
    {
      method: 'POST',
      path: UNSUBSCRIBE_PATH,
      name: 'unsubscribe',
      async handle(ctx) {
        const { userId } = verified(deps.secret, ctx);
        await readBody(ctx.req, MAX_BODY_BYTES);
        const caller = { user_id: userId, conn_id: null };
        const params = { email_notifications: false };
        const { data } = await call(deps.rpc, 'users.update_me', { caller, params }, ctx.requestId);
        if (wantsHtml(ctx)) {
          sendHtml(ctx.res, 200, page(deps.locale, w.title, `<p>${escapeHtml(w.done)}</p>`));
          return undefined;
        }
        return { status: 200, body: { email_notifications: data.email_notifications } };
      },
    },
    {
      method: 'GET',
      path: UNSUBSCRIBE_PATH,
      name: 'unsubscribe.page',
      async handle(ctx) {
        const { userId, token } = verified(deps.secret, ctx);
        const action = unsubscribePath(userId, token);
        const form = `<p>${escapeHtml(w.ask)}</p>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">${escapeHtml(w.button)}</button>
</form>`;
        sendHtml(ctx.res, 200, page(deps.locale, w.title, form));
        return undefined;
      },
    },
  ];
}

/** The path's user id and token when the token is this user's; `forbidden` otherwise (malformed included). */
function verified(secret: string, ctx: HttpContext): { userId: number; token: string } {
  const userId = parseUnsubscribeUserId(ctx.params[0] ?? '');
  let token = '';
  try {
    token = decodeURIComponent(ctx.params[1] ?? '');
  } catch {
    // a broken %-escape is just a wrong token
  }
  if (userId === null || !verifyUnsubscribeToken(secret, userId, token)) {
    throw new ParleyError('forbidden', { message: 'invalid unsubscribe link' });
  }
  return { userId, token };
}

/** A browser submitting the page's form asks for HTML; one-click mail clients do not. */
function wantsHtml(ctx: HttpContext): boolean {
  return /\btext\/html\b/i.test(ctx.req.headers.accept ?? '');
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

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'content-security-policy': UNSUBSCRIBE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(html);
}
