/**
 * The HTTP layer itself (src/http/server.ts) against a real gateway and `dialogs`: the OpenAPI
 * document (valid, and naming every registered route), 405 + Allow, HEAD, per-route rate limits
 * per user and per address, CORS from ALLOWED_ORIGINS, and odd request targets over a raw socket.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createUser } from '../../dialogs/test/harness.js';
import {
  ADMIN_TOKEN,
  type Backend,
  http,
  mintToken,
  rawRequest,
  type StartedGateway,
  startBackend,
  startGateway,
} from './helpers.js';

let backend: Backend;
let gw: StartedGateway;

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix, {
    HTTP_RATE_LIMIT_PER_MIN: '5',
    NEW_MESSAGE_RATE_LIMIT_PER_HOUR: '2',
    ALLOWED_ORIGINS: 'https://app.example',
  });
});

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
});

describe('OpenAPI document', () => {
  test('GET /openapi.json is a valid OpenAPI 3.1 document naming every registered route', async () => {
    const res = await http(`${gw.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const registered = gw.gateway.httpRoutes();
    expect(registered.length).toBeGreaterThanOrEqual(14);
    const missing = registered.filter(({ method, url }) => {
      const path = url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{*}');
      return !doc.paths?.[path]?.[method.toLowerCase()];
    });
    expect(missing).toEqual([]);
    // request bodies come from the zod schemas that validate them
    expect(doc.paths['/api/users/me/'].patch.requestBody.content['application/json'].schema).toMatchObject({
      properties: { email_notifications: { type: 'boolean' } },
    });
  });
});

describe('AsyncAPI document', () => {
  test("GET /asyncapi.json serves the AsyncAPI 3 document with this gateway's subject prefix", async () => {
    const res = await http(`${gw.url}/asyncapi.json`);
    expect(res.status).toBe(200);
    expect(res.body.asyncapi).toMatch(/^3\./);
    const text = JSON.stringify(res.body);
    expect(text).toContain('dialogs.messages.create');
    expect(text).toContain(`${backend.prefix}.rpc.`);
  });
});

describe('methods', () => {
  test('a known path with another method → 405 with Allow; an unknown path → 404', async () => {
    const patchOnly = await http(`${gw.url}/api/users/me/`);
    expect(patchOnly).toMatchObject({ status: 405, body: { code: 'method_not_allowed' } });
    expect(patchOnly.headers.get('allow')).toBe('PATCH');
    const del = await http(`${gw.url}/healthz`, { method: 'DELETE' });
    expect(del).toMatchObject({ status: 405, body: { code: 'method_not_allowed' } });
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    expect(await http(`${gw.url}/nowhere`, { method: 'DELETE' })).toMatchObject({
      status: 404,
      body: { code: 'not_found' },
    });
  });

  test('HEAD of a GET route: its status and headers, no body', async () => {
    const res = await fetch(`${gw.url}/healthz`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toMatch(/^h[0-9a-f]{16}$/);
    expect(await res.text()).toBe('');
  });
});

describe('rate limits', () => {
  test('per user on authenticated routes: 429 rate_limited with Retry-After; another user is not affected', async () => {
    const [a, b] = [await mintToken(1501), await mintToken(1502)];
    const patch = (token: string) =>
      http(`${gw.url}/api/users/me/`, { method: 'PATCH', token, json: { email_notifications: true } });
    for (let i = 0; i < 5; i++) expect((await patch(a)).status).toBe(200);
    const refused = await patch(a);
    expect(refused).toMatchObject({ status: 429, body: { code: 'rate_limited' } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await patch(b)).status).toBe(200);
  });

  test('POST /api/dialogs/new-message/ has its own, much tighter limit per user', async () => {
    await createUser(backend.dialogs.rpc, 1510, { role: 'reviewer' });
    await createUser(backend.dialogs.rpc, 1511, { reviewer_id: 1510 });
    const token = await mintToken(1511);
    const send = () =>
      http(`${gw.url}/api/dialogs/new-message/`, { method: 'POST', token, json: { body: 'hello' } });
    expect((await send()).status).toBe(201);
    expect((await send()).status).toBe(201);
    const third = await send();
    expect(third).toMatchObject({ status: 429, body: { code: 'rate_limited' } });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(60);
  });

  test('anonymous requests count per address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await http(`${gw.url}/openapi.json`)).status);
    expect(statuses.slice(0, 4).every((s) => s === 200)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe('CORS', () => {
  test('a listed origin is allowed (preflight and answers); another gets no CORS headers', async () => {
    const pre = await fetch(`${gw.url}/api/users/me/`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-methods')).toContain('PATCH');
    const other = await fetch(`${gw.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('odd request targets', () => {
  test.each([
    ['GET //', 'GET // HTTP/1.1'],
    ['GET /%', 'GET /% HTTP/1.1'],
    ['GET /%zz', 'GET /%zz HTTP/1.1'],
    ['GET http://x/y', 'GET http://x/y HTTP/1.1'],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1'],
    ['a 16 KiB URL', `GET /${'a'.repeat(16 * 1024)} HTTP/1.1`],
  ])('%s → a 4xx with a catalogued JSON body; the gateway keeps serving', async (_name, line) => {
    const port = gw.gateway.port();
    const answer = await rawRequest(port, `${line}\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 4\d\d /);
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body).code).toMatch(/^(bad_request|not_found|method_not_allowed)$/);
    expect((await http(`${gw.url}/healthz`)).status).toBe(200);
  });
});

describe('rate limits and the admin', () => {
  test('the admin API with the valid token is not limited; a wrong token is, per address', async () => {
    const admin = { auth: `Bearer ${ADMIN_TOKEN}` };
    for (let i = 0; i < 8; i++) {
      expect((await http(`${gw.url}/api/admin/dialogs?user_id=1`, admin)).status).toBe(200);
    }
    const wrong: number[] = [];
    for (let i = 0; i < 7; i++) {
      wrong.push(
        (await http(`${gw.url}/api/admin/dialogs`, { auth: 'Bearer wrong-token-0123456789' })).status,
      );
    }
    expect(wrong.at(-1)).toBe(429);
  });
});
