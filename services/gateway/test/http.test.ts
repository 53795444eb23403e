/** The HTTP API of PROTOCOL.md §5 against a real `dialogs`: user calls, admin calls, health, metrics, errors. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connectWs } from '@parley/testing';
import { createUser } from '../../dialogs/test/harness.js';
import {
  ADMIN_TOKEN,
  type Backend,
  http,
  mintToken,
  type StartedGateway,
  startBackend,
  startGateway,
} from './helpers.js';

let backend: Backend;
let gw: StartedGateway;
const admin = `Bearer ${ADMIN_TOKEN}`;

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix, { MAX_BODY_CHARS: '1000' });
});

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
});

describe('user API', () => {
  test('PATCH /api/users/me/ with `JWT` or `Bearer` auth', async () => {
    const token = await mintToken(801);
    const off = await http(`${gw.url}/api/users/me/`, {
      method: 'PATCH',
      token,
      json: { email_notifications: false },
    });
    expect(off).toMatchObject({ status: 200, body: { id: 801, email_notifications: false } });
    const on = await http(`${gw.url}/api/users/me/`, {
      method: 'PATCH',
      auth: `Bearer ${token}`,
      json: { email_notifications: true },
    });
    expect(on.body.email_notifications).toBe(true);
    const bad = await http(`${gw.url}/api/users/me/`, {
      method: 'PATCH',
      token,
      json: { email_notifications: 'x' },
    });
    expect(bad).toMatchObject({
      status: 400,
      body: {
        code: 'validation_error',
        field: 'email_notifications',
        detail: 'Некорректное значение `email_notifications`',
      },
    });
    expect(await http(`${gw.url}/api/users/me/`, { method: 'PATCH', json: {} })).toMatchObject({
      status: 401,
      body: { code: 'unauthorized', detail: 'Требуется авторизация' },
    });
  });

  test('POST /api/dialogs/new-message/ writes to the reviewer (201) who then sees it; no reviewer → 403', async () => {
    await createUser(backend.dialogs.rpc, 810, { role: 'reviewer' });
    await createUser(backend.dialogs.rpc, 811, { reviewer_id: 810 });
    const reviewer = await connectWs(gw.url, { token: await mintToken(810) });
    const res = await http(`${gw.url}/api/dialogs/new-message/`, {
      method: 'POST',
      token: await mintToken(811),
      json: { body: 'please review' },
    });
    expect(res).toMatchObject({ status: 201, body: { markdown_body: 'please review', user: { id: 811 } } });
    const dialogs = await reviewer.request({ event: 'dialogs.load' });
    expect(dialogs.data[0].last_message.id).toBe(res.body.id);
    await reviewer.close();
    const orphan = await http(`${gw.url}/api/dialogs/new-message/`, {
      method: 'POST',
      token: await mintToken(812),
      json: { body: 'anyone?' },
    });
    expect(orphan).toMatchObject({ status: 403, body: { code: 'forbidden' } });
  });

  test('bodies: not JSON → 400, not an object → 400, over the cap → 413', async () => {
    const token = await mintToken(801);
    const url = `${gw.url}/api/dialogs/new-message/`;
    expect((await http(url, { method: 'POST', token, body: '{nope' })).body.code).toBe('bad_request');
    expect((await http(url, { method: 'POST', token, json: [1] })).body.code).toBe('bad_request');
    const big = await http(url, { method: 'POST', token, json: { body: 'x'.repeat(10_000) } });
    expect(big).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
  });
});

describe('admin API', () => {
  test('upserts a user, creates a dialog (201), lists dialogs of a user', async () => {
    const user = await http(`${gw.url}/api/admin/users/820`, {
      method: 'PUT',
      auth: admin,
      json: { email: 'a@example.com', first_name: 'Ann', role: 'support' },
    });
    expect(user).toMatchObject({
      status: 200,
      body: { id: 820, first_name: 'Ann', role: 'support', is_support: true },
    });
    await http(`${gw.url}/api/admin/users/821/`, { method: 'PUT', auth: admin, json: {} });
    const created = await http(`${gw.url}/api/admin/dialogs`, {
      method: 'POST',
      auth: admin,
      json: { users: [820, 821] },
    });
    expect(created.status).toBe(201);
    expect(created.body.users.map((u: { id: number }) => u.id).sort()).toEqual([820, 821]);
    const list = await http(`${gw.url}/api/admin/dialogs?user_id=821`, { auth: admin });
    expect(list).toMatchObject({ status: 200 });
    expect(list.body.map((d: { id: number }) => d.id)).toEqual([created.body.id]);
    const bad = await http(`${gw.url}/api/admin/users/abc`, { method: 'PUT', auth: admin, json: {} });
    expect(bad).toMatchObject({ status: 400, body: { code: 'validation_error', field: 'id' } });
  });

  test('a wrong or missing admin token → 401; a user JWT is not an admin token', async () => {
    expect((await http(`${gw.url}/api/admin/dialogs`, { auth: 'Bearer wrong' })).status).toBe(401);
    expect((await http(`${gw.url}/api/admin/dialogs`)).status).toBe(401);
    expect(
      (await http(`${gw.url}/api/admin/dialogs`, { auth: `Bearer ${await mintToken(820)}` })).status,
    ).toBe(401);
  });

  test('ADMIN_TOKEN unset → every admin call is refused', async () => {
    const closed = await startGateway(backend.prefix, { ADMIN_TOKEN: '' });
    try {
      for (const [method, path] of [
        ['GET', '/api/admin/dialogs'],
        ['POST', '/api/admin/dialogs'],
        ['PUT', '/api/admin/users/1'],
      ] as const) {
        const res = await http(`${closed.url}${path}`, {
          method,
          auth: admin,
          ...(method === 'GET' ? {} : { json: {} }),
        });
        expect(res).toMatchObject({ status: 403, body: { code: 'forbidden' } });
      }
    } finally {
      await closed.stop();
    }
  });
});

describe('operations', () => {
  test('healthz, readyz; metrics of this gateway only, on the internal METRICS_PORT, not the public one', async () => {
    expect(await http(`${gw.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await http(`${gw.url}/readyz`)).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(await http(`${gw.url}/metrics`)).toMatchObject({ status: 404, body: { code: 'not_found' } });
    const s = await connectWs(gw.url, { token: await mintToken(830) });
    await s.request({ event: 'notifications.dialogs.count' });
    const metrics = await http(`${gw.metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('parley_gateway_connections{kind="sockets"} 1');
    expect(metrics.body).toMatch(
      /parley_gateway_frames_total\{event="notifications.dialogs.count",outcome="ok"\} 1/,
    );
    expect(metrics.body).toContain('parley_gateway_request_seconds_bucket');
    await s.close();
  });

  test('an unknown route → 404 JSON', async () => {
    expect(await http(`${gw.url}/api/nothing`)).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });
});
