/** Protocol abuse over real sockets: frame size (1009), flooding (rate_limited, then 1008), slow readers (1013), dead peers. */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { publishPush } from '@parley/bus';
import { subjects } from '@parley/protocol';
import { connectWs, sleep, type TestSocket, waitFor } from '@parley/testing';
import { TokenBucket } from '../src/ws/rate-limit.js';
import { type Backend, mintToken, type StartedGateway, startBackend, startGateway } from './helpers.js';

let backend: Backend;
let gw: StartedGateway;

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix, {
    MAX_FRAME_BYTES: '2048',
    RATE_LIMIT_PER_SEC: '2',
    RATE_LIMIT_BURST: '5',
    MAX_BUFFERED_BYTES: '65536',
  });
});

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
});

const rawSocket = (s: TestSocket) => (s.ws as unknown as { _socket: Socket })._socket;

async function metric(name: string, labels: string, on: StartedGateway = gw): Promise<number> {
  const text = await (await fetch(`${on.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('a frame over MAX_FRAME_BYTES closes the socket with 1009', async () => {
  const s = await connectWs(gw.url, { token: await mintToken(501) });
  s.send({ event: 'notifications.dialogs.count', pad: 'x'.repeat(4096) });
  expect((await s.closed).code).toBe(1009);
});

test('a burst over the limit gets rate_limited answers; the socket keeps working afterwards', async () => {
  const s = await connectWs(gw.url, { token: await mintToken(502) });
  for (let i = 0; i < 7; i++) s.send({ event: 'notifications.dialogs.count', request_id: i });
  await waitFor(() => s.frames.length === 7);
  const limited = s.frames.filter((f) => f.exception);
  expect(limited).toHaveLength(2);
  for (const f of limited) {
    expect(f).toMatchObject({
      type: 'ws_send',
      event: 'notifications.dialogs.count',
      exception: true,
      error: { code: 'rate_limited' },
    });
  }
  expect(s.frames.filter((f) => !f.exception).map((f) => f.request_id)).toEqual([0, 1, 2, 3, 4]);
  await sleep(600); // tokens come back with time (2 per second)
  const again = await s.request({ event: 'notifications.dialogs.count' });
  expect(again).toMatchObject({ event: 'notifications.dialogs.count', data: 0 });
  expect(s.ws.readyState).toBe(s.ws.OPEN);
  await s.close();
});

test('a client that keeps flooding after rate_limited answers is closed with 1008', async () => {
  const s = await connectWs(gw.url, { token: await mintToken(503) });
  for (let i = 0; i < 30; i++) s.send({ event: 'notifications.dialogs.count' });
  expect((await s.closed).code).toBe(1008);
  expect(s.where((f) => f.error?.code === 'rate_limited').length).toBeGreaterThan(0);
});

test('a reader too slow for its pushes is closed with 1013', async () => {
  const s = await connectWs(gw.url, { token: await mintToken(504) });
  rawSocket(s).pause();
  const big = { event: 'notifications.dialogs.count' as const, data: 1 };
  const items = Array.from({ length: 2000 }, () => big);
  await waitFor(
    async () => {
      publishPush(gw.nc, subjects(backend.prefix), 504, { items });
      return (await metric('parley_gateway_closes_total', 'code="1013"')) >= 1;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  rawSocket(s).resume();
  expect((await s.closed).code).toBe(1013);
});

test('a peer that stops answering pings is dropped by the heartbeat; a live one is kept', async () => {
  const hb = await startGateway(backend.prefix, { HEARTBEAT_MS: '200' });
  const dead = await connectWs(hb.url, { token: await mintToken(505) });
  const live = await connectWs(hb.url, { token: await mintToken(506) });
  rawSocket(dead).pause();
  await waitFor(async () => (await metric('parley_gateway_closes_total', 'code="heartbeat"', hb)) === 1);
  rawSocket(dead).resume();
  expect((await dead.closed).code).toBe(1006);
  await sleep(600);
  expect((await live.request({ event: 'notifications.dialogs.count' })).data).toBe(0);
  await live.close();
  await hb.stop();
});

test('token bucket: burst, then the rate', () => {
  const b = new TokenBucket(2, 3, 0);
  expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
  expect(b.take(400)).toBe(false);
  expect(b.take(500)).toBe(true);
  expect(b.take(10_000)).toBe(true);
  expect([b.take(10_000), b.take(10_000), b.take(10_000)]).toEqual([true, true, false]);
});
