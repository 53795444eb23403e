/**
 * Hostile upgrade requests over real TCP sockets: odd request targets answer 400/404 (never 500,
 * never a crash), and a request carrying two different credentials is refused with 401 before
 * the upgrade (PROTOCOL.md §1) while the same token given twice is accepted.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connectWs } from '@parley/testing';
import { type Backend, http, mintToken, type StartedGateway, startBackend, startGateway } from './helpers.js';
import { rawUpgrade } from './raw-upgrade.js';

let backend: Backend;
let gw: StartedGateway;
let a: string;
let a2: string;
let b: string;

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix);
  a = await mintToken(201);
  a2 = await mintToken(201, { ttlSec: 7200 });
  b = await mintToken(202);
});

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
});

describe('odd request targets', () => {
  test.each([
    ['//', 400],
    ['//ws/', 400],
    ['//evil.example/ws/', 400],
    ['/%', 404],
    ['/%zz', 404],
    ['/ws/%zz', 404],
    ['/ws%2F', 404],
    ['*', 400],
  ])('%s → %i', async (target, status) => {
    expect(await rawUpgrade(gw.url, target)).toBe(status);
  });

  test('absolute-form targets are refused with 400, even with a good token', async () => {
    expect(await rawUpgrade(gw.url, `http://127.0.0.1/ws/?token=${a}`)).toBe(400);
    expect(await rawUpgrade(gw.url, `ws://evil.example/ws/?token=${a}`)).toBe(400);
  });

  test('a bad percent-escape in the token parameter is a bad token (401)', async () => {
    expect(await rawUpgrade(gw.url, '/ws/?token=%zz')).toBe(401);
    expect(await rawUpgrade(gw.url, '/ws/?token=%')).toBe(401);
  });

  test('huge targets: 404/401 within the header limit, 400/431 past it', async () => {
    expect(await rawUpgrade(gw.url, `/${'a'.repeat(12_000)}`)).toBe(404);
    expect(await rawUpgrade(gw.url, `/ws/?token=${'a'.repeat(12_000)}`)).toBe(401);
    expect([400, 431]).toContain(await rawUpgrade(gw.url, `/ws/?token=${'a'.repeat(40_000)}`));
  });

  test('afterwards the gateway still serves', async () => {
    expect((await http(`${gw.url}/healthz`)).status).toBe(200);
    const s = await connectWs(gw.url, { token: a });
    expect((await s.request({ event: 'users.status.online' })).data.user_id).toBe(201);
    await s.close();
  });
});

describe('two credentials', () => {
  const q = (t: string) => `/ws/?token=${t}`;
  const bearer = (t: string): [string, string] => ['Authorization', `Bearer ${t}`];
  const proto = (...ts: string[]): [string, string] => [
    'Sec-WebSocket-Protocol',
    ts.map((t) => `bearer, ${t}`).join(', '),
  ];

  test.each([
    ['query + header', () => [q(a), [bearer(b)]] as const],
    ['query + sub-protocol', () => [q(a), [proto(b)]] as const],
    ['header + sub-protocol', () => ['/ws/', [bearer(a), proto(b)]] as const],
    ['query twice', () => [`/ws/?token=${a}&token=${b}`, []] as const],
    ['header twice', () => ['/ws/', [bearer(a), bearer(b)]] as const],
    ['sub-protocol pair twice', () => ['/ws/', [proto(a, b)]] as const],
    ['two sub-protocol headers', () => ['/ws/', [proto(a), proto(b)]] as const],
    ['two tokens of the same user', () => [q(a), [bearer(a2)]] as const],
    ['all three places', () => [q(a), [bearer(a), proto(b)]] as const],
  ])('that differ (%s) → 401', async (_name, make) => {
    const [target, headers] = make();
    expect(await rawUpgrade(gw.url, target, [...headers])).toBe(401);
  });

  test.each([
    ['query + header', () => [q(a), [bearer(a)]] as const],
    ['query + sub-protocol', () => [q(a), [proto(a)]] as const],
    ['header + sub-protocol', () => ['/ws/', [bearer(a), proto(a)]] as const],
    ['query twice', () => [`/ws/?token=${a}&token=${a}`, []] as const],
    ['header twice', () => ['/ws/', [bearer(a), bearer(a)]] as const],
    ['all three places', () => [q(a), [bearer(a), proto(a)]] as const],
  ])('that are the same token (%s) → accepted', async (_name, make) => {
    const [target, headers] = make();
    expect(await rawUpgrade(gw.url, target, [...headers])).toBe(101);
  });

  test('a client library sending query + header: refused when they differ, served when equal', async () => {
    await expect(
      connectWs(gw.url, { token: a, headers: { authorization: `Bearer ${b}` } }),
    ).rejects.toMatchObject({ status: 401 });
    const s = await connectWs(gw.url, { token: a, headers: { authorization: `Bearer ${a}` } });
    expect((await s.request({ event: 'users.status.online' })).data.user_id).toBe(201);
    await s.close();
  });
});
