/**
 * Memory bounds per account, against the built gateway as a child process: one token, as many
 * sockets as it may hold, each sending bursts of large frames while `dialogs` does not answer.
 * Frames waiting for their answer are capped per connection (4429), sockets per user and upgrades
 * per address are refused with 429 before the upgrade, and the gateway keeps serving.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { CLOSE_CODES, subjects } from '@parley/protocol';
import { connectWs, natsUrl, type TestSocket, waitFor } from '@parley/testing';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import { buildGateway, type GatewayProcess, spawnGateway } from './gateway-process.js';
import { type Backend, http, mintToken, startBackend } from './helpers.js';
import { rawUpgrade } from './raw-upgrade.js';

const SOCKETS = 4;
const FRAME_BYTES = 120 * 1024;

let backend: Backend;
let gw: GatewayProcess;
let nc: NatsConnection;

beforeAll(async () => {
  buildGateway();
  backend = await startBackend();
  nc = await connectBus({ servers: [await natsUrl()], name: 'memory-bounds-hung', logger: silentLogger() });
  gw = await spawnGateway(backend.prefix, {
    MAX_SOCKETS_PER_USER: String(SOCKETS),
    MAX_QUEUED_FRAMES: '8',
    MAX_QUEUED_BYTES: String(256 * 1024),
    MAX_FRAME_BYTES: String(128 * 1024),
    // the rate limit is not what is under test here: a flood must reach the queue
    RATE_LIMIT_PER_SEC: '100000',
    RATE_LIMIT_BURST: '100000',
    UPGRADES_PER_IP_PER_SEC: '0',
    REQUEST_TIMEOUT_MS: '3000',
  });
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await nc?.drain().catch(() => undefined);
  await backend?.stop();
});

const refusal = (p: Promise<TestSocket>) =>
  p.then(
    async (s) => {
      await s.close();
      return 'opened';
    },
    (err: { status?: number }) => err.status,
  );

test('one user holds at most MAX_SOCKETS_PER_USER sockets on an instance; the next upgrade is 429', async () => {
  const token = await mintToken(301);
  const held = [];
  for (let i = 0; i < SOCKETS; i++) held.push(await connectWs(gw.url, { token }));
  expect(await refusal(connectWs(gw.url, { token }))).toBe(429);
  expect(await refusal(connectWs(gw.url, { token: await mintToken(301, { ttlSec: 60 }) }))).toBe(429);
  // another user is not affected
  expect(await refusal(connectWs(gw.url, { token: await mintToken(302) }))).toBe('opened');
  // a closed socket frees its place
  await held.pop()!.close();
  const again = await waitFor(() => connectWs(gw.url, { token }), {
    timeoutMs: 15_000,
    what: 'a free place',
  });
  held.push(again);
  for (const s of held) await s.close();
});

test('bursts of large frames while dialogs hangs: every socket is closed with 4429; the gateway keeps serving', async () => {
  await createUser(backend.dialogs.rpc, 303);
  const dialog = await createDialog(backend.dialogs.rpc, [303]);
  const token = await mintToken(303);
  const sockets: TestSocket[] = [];
  for (let i = 0; i < SOCKETS; i++) sockets.push(await connectWs(gw.url, { token }));
  const bystander = await connectWs(gw.url, { token: await mintToken(304) });
  const rssBefore = gw.rssBytes();

  // dialogs gone; a responder takes every request and never answers (a slow dialogs)
  await backend.dialogs.service.stop();
  const hung = nc.subscribe(subjects(backend.prefix).rpcWildcard);
  await nc.flush();
  try {
    // valid frames that go to dialogs (an unknown extra key is ignored), so each one waits there
    const pad = 'x'.repeat(FRAME_BYTES - 200);
    for (const [i, s] of sockets.entries()) {
      // one socket floods with small frames (the count cap), the others with large ones (the byte cap)
      for (let n = 0; n < 60; n++) {
        if (s.ws.readyState !== s.ws.OPEN) break;
        s.send(
          i === 0
            ? { event: 'notifications.dialogs.count', request_id: n }
            : { event: 'dialogs.messages.load', dialog_id: dialog.id, pad, request_id: n },
        );
      }
    }
    const closes = await Promise.all(sockets.map((s) => s.closed));
    for (const c of closes) {
      expect(c).toEqual({ code: CLOSE_CODES.QUEUE_FULL, reason: 'too many frames waiting' });
    }
    // the gateway process lives and serves HTTP meanwhile; the bystander's socket is still open
    expect(gw.alive()).toBe(true);
    expect((await http(`${gw.url}/healthz`)).status).toBe(200);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    // a generous sanity bound only (the close codes above are the proof): garbage collection
    // makes resident memory too noisy for a tight one
    const grown = gw.rssBytes() - rssBefore;
    expect(grown).toBeLessThan(96 * 1024 * 1024);
  } finally {
    hung.unsubscribe();
    await backend.dialogs.service.start();
  }

  // dialogs back: the same user connects again and is answered; the bystander too
  await waitFor(async () => (await http(`${gw.url}/readyz`)).status === 200, {
    timeoutMs: 20_000,
    what: 'readiness',
  });
  const back = await waitFor(() => connectWs(gw.url, { token }), { timeoutMs: 20_000, what: 'a new socket' });
  expect((await back.request({ event: 'notifications.dialogs.count' }, 15_000)).data).toBe(0);
  expect((await bystander.request({ event: 'users.status.online' }, 15_000)).data.user_id).toBe(304);
  await back.close();
  await bystander.close();
  expect(gw.alive()).toBe(true);
}, 120_000);

test('UPGRADES_PER_IP_PER_SEC: a storm of upgrades from one address gets 429s, then it may connect again', async () => {
  const limited = await spawnGateway(backend.prefix, { UPGRADES_PER_IP_PER_SEC: '5' });
  try {
    // without a token: the ones let through are refused 401 by authentication, the others 429
    const statuses = await Promise.all(Array.from({ length: 40 }, () => rawUpgrade(limited.url, '/ws/')));
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 429 || s === 401)).toBe(true);
    const token = await mintToken(305);
    const s = await waitFor(() => connectWs(limited.url, { token }), {
      timeoutMs: 15_000,
      what: 'an upgrade',
    });
    await s.close();
    expect(limited.alive()).toBe(true);
  } finally {
    await limited.stop();
  }
});
