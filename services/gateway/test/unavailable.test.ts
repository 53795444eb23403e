/**
 * `dialogs` gone: frames answer `unavailable` (no responder at once; a hung responder after
 * REQUEST_TIMEOUT_MS), the socket stays open; `dialogs` back: the same socket works again.
 * Graceful stop: the frame in flight is answered, then 1001.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { connectWs, natsUrl, waitFor } from '@parley/testing';
import { createDialog, createUser, startDialogs } from '../../dialogs/test/harness.js';
import { type Backend, http, mintToken, type StartedGateway, startBackend, startGateway } from './helpers.js';

let backend: Backend;
let gw: StartedGateway;
let nc: NatsConnection;

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix, { REQUEST_TIMEOUT_MS: '400' });
  nc = await connectBus({ servers: [await natsUrl()], name: 'gateway-test-hung', logger: silentLogger() });
});

afterAll(async () => {
  await nc?.drain();
  await gw?.stop();
  await backend?.stop();
});

const UNAVAILABLE = {
  type: 'ws_send',
  event: 'notifications.dialogs.count',
  exception: true,
  data: 'Сервис недоступен, попробуйте позже',
  error: { code: 'unavailable', message: 'Service unavailable, try again' },
};

test('dialogs stopped → unavailable and not ready; restarted → the same socket works again', async () => {
  await createUser(backend.dialogs.rpc, 601);
  await createDialog(backend.dialogs.rpc, [601]);
  const s = await connectWs(gw.url, { token: await mintToken(601) });
  expect((await s.request({ event: 'notifications.dialogs.count' })).data).toBe(0);
  expect((await http(`${gw.url}/readyz`)).status).toBe(200);

  await backend.dialogs.service.stop();
  const answer = await s.request({ event: 'notifications.dialogs.count' });
  expect(answer).toEqual({ ...UNAVAILABLE, request_id: answer.request_id });
  expect(await http(`${gw.url}/readyz`)).toMatchObject({ status: 503, body: { code: 'unavailable' } });
  expect(await http(`${gw.url}/healthz`)).toMatchObject({ status: 200 });
  // a new socket cannot be authenticated meanwhile: refused before the handshake
  await expect(connectWs(gw.url, { token: await mintToken(601) })).rejects.toMatchObject({ status: 503 });

  const again = await startDialogs({
    prefix: backend.prefix,
    db: backend.dialogs.db,
    presence: backend.presence,
  });
  try {
    const loaded = await s.request({ event: 'dialogs.load' });
    expect(loaded).toMatchObject({ event: 'dialogs.load', meta: { total: 1 } });
    expect((await http(`${gw.url}/readyz`)).status).toBe(200);
  } finally {
    await s.close();
    await again.stop();
  }
});

test('a dialogs that does not answer in time → unavailable after REQUEST_TIMEOUT_MS, frames still in order', async () => {
  const { s, hung } = await connectThenHang(gw.url, 602);
  s.send({ event: 'notifications.dialogs.count', request_id: 'slow' });
  s.send({ event: 'users.status.online', request_id: 'next' });
  const slow = await s.next((f) => f.request_id === 'slow');
  expect(slow).toEqual({ ...UNAVAILABLE, request_id: 'slow' });
  const next = await s.next((f) => f.request_id === 'next');
  expect(next.error.code).toBe('unavailable');
  expect(s.frames.map((f) => f.request_id)).toEqual(['slow', 'next']);
  expect(s.ws.readyState).toBe(s.ws.OPEN);
  hung.unsubscribe();
  await s.close();
});

test('graceful stop: the frame in flight is answered, then the socket closes with 1001', async () => {
  const own = await startGateway(backend.prefix, { REQUEST_TIMEOUT_MS: '400' });
  const { s, hung } = await connectThenHang(own.url, 603);
  s.send({ event: 'notifications.dialogs.count', request_id: 'in-flight' });
  await new Promise((r) => setTimeout(r, 50));
  await own.stop();
  expect(s.frames.map((f) => f.request_id)).toEqual(['in-flight']);
  expect((await s.closed).code).toBe(1001);
  hung.unsubscribe();
});

/**
 * Connect once the freshly started dialogs answers the profile upsert within the short
 * REQUEST_TIMEOUT_MS of these gateways (a busy machine can make its first answers slower):
 * the upgrade is refused with 503 until then.
 */
async function connectAnswered(url: string, userId: number) {
  const token = await mintToken(userId);
  return waitFor(() => connectWs(url, { token }), { timeoutMs: 10_000, what: 'an accepted upgrade' });
}

/**
 * A socket connected while a dialogs instance answered; then that instance is gone and a
 * responder takes `notifications.dialogs.count` requests and never replies.
 */
async function connectThenHang(url: string, userId: number) {
  const again = await startDialogs({
    prefix: backend.prefix,
    db: backend.dialogs.db,
    presence: backend.presence,
  });
  const s = await connectAnswered(url, userId);
  await again.stop();
  const hung = nc.subscribe(subjects(backend.prefix).rpc('notifications.dialogs.count'));
  await nc.flush();
  return { s, hung };
}
