/**
 * Presence across gateway instances: the first socket anywhere → online, the last anywhere →
 * offline, each transition pushed once to every contact; a killed gateway's users expire.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectWs, type Frame, sleep, type TestSocket, waitFor } from '@parley/testing';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import {
  type Backend,
  mintToken,
  PRESENCE_ENV,
  type StartedGateway,
  startBackend,
  startGateway,
} from './helpers.js';

let backend: Backend;
let gwA: StartedGateway;
let gwB: StartedGateway;
let watcher: TestSocket;
const CAROL = 401;
const DAVE = 402;
const ERIN = 403;
/** long enough for every gateway's view to have noticed (and claimed) a transition */
const SETTLE_MS = Number(PRESENCE_ENV.PRESENCE_RELIST_MS) * 4;

const statusOf = (userId: number) =>
  watcher
    .where((f: Frame) => f.event === 'users.status.online' && f.data.user_id === userId && !f.request_id)
    .map((f) => f.data.status_online);

beforeAll(async () => {
  backend = await startBackend();
  gwA = await startGateway(backend.prefix);
  gwB = await startGateway(backend.prefix);
  for (const id of [CAROL, DAVE, ERIN]) await createUser(backend.dialogs.rpc, id);
  await createDialog(backend.dialogs.rpc, [CAROL, DAVE]);
  await createDialog(backend.dialogs.rpc, [ERIN, DAVE]);
  watcher = await connectWs(gwA.url, { token: await mintToken(DAVE) });
});

afterAll(async () => {
  await watcher?.close();
  await gwA?.stop();
  await gwB?.stop();
  await backend?.stop();
});

test('tabs split across two gateways: one online push, one offline push, isOnline right throughout', async () => {
  const onA = await connectWs(gwA.url, { token: await mintToken(CAROL) });
  await waitFor(() => statusOf(CAROL).length === 1);
  expect(statusOf(CAROL)).toEqual([true]);
  expect(backend.presence.isOnline(CAROL)).toBe(true);

  const onB = await connectWs(gwB.url, { token: await mintToken(CAROL) });
  await onA.close();
  await sleep(SETTLE_MS);
  expect(statusOf(CAROL)).toEqual([true]);
  expect(backend.presence.isOnline(CAROL)).toBe(true);
  // what a contact asking through dialogs sees
  const answer = await watcher.request({ event: 'dialogs.load' });
  expect(answer.data.find((d: Frame) => d.user.id === CAROL).user.status_online).toBe(true);

  await onB.close();
  await waitFor(() => statusOf(CAROL).length === 2);
  await sleep(SETTLE_MS);
  expect(statusOf(CAROL)).toEqual([true, false]);
  expect(backend.presence.isOnline(CAROL)).toBe(false);
});

test('a killed gateway (no cleanup): its user goes offline after the TTL, pushed once', async () => {
  const doomed = await startGateway(backend.prefix);
  const erin = await connectWs(doomed.url, { token: await mintToken(ERIN) });
  await waitFor(() => statusOf(ERIN).length === 1);
  expect(statusOf(ERIN)).toEqual([true]);

  // the process dies: its NATS connection is gone, it never deletes its keys or refreshes them
  await doomed.nc.close();
  await doomed.gateway.stop();
  expect((await erin.closed).code).toBe(1001);
  expect(backend.presence.isOnline(ERIN)).toBe(true);

  await waitFor(() => statusOf(ERIN).length === 2, { timeoutMs: Number(PRESENCE_ENV.PRESENCE_TTL_MS) * 4 });
  await sleep(SETTLE_MS);
  expect(statusOf(ERIN)).toEqual([true, false]);
  expect(backend.presence.isOnline(ERIN)).toBe(false);
});
