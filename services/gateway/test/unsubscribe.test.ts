/** One-click unsubscribe (RFC 8058) against a real `dialogs`: the signed link turns e-mail off, nothing else does. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { signUnsubscribeToken, unsubscribePath } from '@parley/protocol';
import { createUser } from '../../dialogs/test/harness.js';
import {
  type Backend,
  http,
  JWT_SECRET,
  mintToken,
  type StartedGateway,
  startBackend,
  startGateway,
} from './helpers.js';

let backend: Backend;
let gw: StartedGateway;

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix, { MESSAGES_LOCALE: 'en' });
});

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
});

const oneClick = () => new URLSearchParams({ 'List-Unsubscribe': 'One-Click' });

function link(userId: number, token = signUnsubscribeToken(JWT_SECRET, userId)): string {
  return `${gw.url}${unsubscribePath(userId, token)}`;
}

/** the user's preference as dialogs stores it (the record the gateway gets when a user connects) */
async function notificationsOf(userId: number): Promise<boolean> {
  const reply = await backend.dialogs.rpc.request('users.upsert_from_claims', {
    claims: { user_id: userId },
  });
  return reply.data.email_notifications;
}

describe('POST /api/unsubscribe/<user_id>/<token>', () => {
  test('a valid one-click POST turns e-mail notifications off (200 JSON, no JWT)', async () => {
    await createUser(backend.dialogs.rpc, 901, { email_notifications: true });
    expect(await notificationsOf(901)).toBe(true);
    const res = await http(link(901), { method: 'POST', body: oneClick() });
    expect(res).toMatchObject({ status: 200, body: { email_notifications: false } });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await notificationsOf(901)).toBe(false);
    // again: still off, still 200
    expect((await http(link(901), { method: 'POST', body: oneClick() })).status).toBe(200);
    expect(await notificationsOf(901)).toBe(false);
  });

  test('forged, other user’s, malformed tokens and a login JWT → 403 forbidden, nothing changes', async () => {
    await createUser(backend.dialogs.rpc, 902, { email_notifications: true });
    await createUser(backend.dialogs.rpc, 903, { email_notifications: true });
    const good = signUnsubscribeToken(JWT_SECRET, 902);
    const flipped = `${good[0] === 'A' ? 'B' : 'A'}${good.slice(1)}`;
    const urls = [
      link(902, signUnsubscribeToken('some-other-secret-0123456789', 902)),
      link(902, signUnsubscribeToken(JWT_SECRET, 903)),
      link(902, flipped),
      link(902, 'abc'),
      link(902, `${good}A`),
      link(902, await mintToken(902)),
      `${gw.url}/api/unsubscribe/0902/${good}`,
      `${gw.url}/api/unsubscribe/x/${good}`,
      `${gw.url}/api/unsubscribe/902/%E0%A4%A`,
    ];
    for (const url of urls) {
      const res = await http(url, { method: 'POST', body: oneClick() });
      expect({ url, status: res.status, body: res.body }).toEqual({
        url,
        status: 403,
        body: { code: 'forbidden', detail: 'Forbidden' },
      });
      expect((await http(url)).status).toBe(403);
    }
    expect(await notificationsOf(902)).toBe(true);
    expect(await notificationsOf(903)).toBe(true);
  });

  test('a body over the small cap → 413, nothing changes; a valid link of an unknown user → 404', async () => {
    await createUser(backend.dialogs.rpc, 904, { email_notifications: true });
    const big = await http(link(904), { method: 'POST', body: 'x'.repeat(4096) });
    expect(big).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
    expect(await notificationsOf(904)).toBe(true);
    const ghost = await http(link(999_999), { method: 'POST', body: oneClick() });
    expect(ghost).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });
});

describe('GET /api/unsubscribe/<user_id>/<token>', () => {
  test('a script-free page whose form posts back; only submitting it turns e-mail off', async () => {
    await createUser(backend.dialogs.rpc, 905, { email_notifications: true });
    const token = signUnsubscribeToken(JWT_SECRET, 905);
    const res = await http(link(905));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; form-action 'self'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = String(res.body);
    expect(html).toContain(`<form method="post" action="/api/unsubscribe/905/${token}">`);
    expect(html).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click">');
    expect(html).not.toMatch(/<script|\son[a-z]+=|style=/i);
    expect(await notificationsOf(905)).toBe(true);

    // what a browser sends when the form is submitted: an HTML confirmation
    const submitted = await fetch(link(905), {
      method: 'POST',
      headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' },
      body: oneClick(),
    });
    expect(submitted.status).toBe(200);
    expect(submitted.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(submitted.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    expect(await submitted.text()).toContain('E-mail notifications about new messages are off.');
    expect(await notificationsOf(905)).toBe(false);
  });

  test('the routes are labelled in the HTTP metrics', async () => {
    const text = String((await http(`${gw.metricsUrl}/metrics`)).body);
    expect(text).toMatch(/parley_gateway_http_requests_total\{route="unsubscribe",status="200"\}/);
    expect(text).toMatch(/parley_gateway_http_requests_total\{route="unsubscribe",status="403"\}/);
    expect(text).toMatch(/parley_gateway_http_requests_total\{route="unsubscribe.page",status="200"\}/);
  });
});
