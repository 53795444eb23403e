/**
 * Deactivating a user through the admin API (`PUT /api/admin/users/{id}` with `is_active: false`,
 * served by the real dialogs) closes that user's open sockets on every gateway with 4403; other
 * users keep theirs; the user's next upgrade is refused until reactivated.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CLOSE_CODES } from '@parley/protocol';
import { connectWs, type TestSocket } from '@parley/testing';
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
let gwA: StartedGateway;
let gwB: StartedGateway;

beforeAll(async () => {
  backend = await startBackend();
  gwA = await startGateway(backend.prefix);
  gwB = await startGateway(backend.prefix);
});

afterAll(async () => {
  await gwB?.stop();
  await gwA?.stop();
  await backend?.stop();
});

const admin = `Bearer ${ADMIN_TOKEN}`;

/** the socket's close, or an error naming it after a generous bound (the machine is loaded) */
function closeOf(s: TestSocket, what: string) {
  return Promise.race([
    s.closed,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} was not closed`)), 15_000).unref(),
    ),
  ]);
}

test('is_active: false closes every socket of the user on every gateway with 4403; others stay', async () => {
  await createUser(backend.dialogs.rpc, 401);
  await createUser(backend.dialogs.rpc, 402);
  const token = await mintToken(401);
  const onA = [await connectWs(gwA.url, { token }), await connectWs(gwA.url, { token, via: 'protocol' })];
  const onB = await connectWs(gwB.url, { token, via: 'header' });
  const other = await connectWs(gwA.url, { token: await mintToken(402) });
  const otherOnB = await connectWs(gwB.url, { token: await mintToken(402) });

  const put = await http(`${gwB.url}/api/admin/users/401`, {
    method: 'PUT',
    auth: admin,
    json: { is_active: false },
  });
  expect(put.status).toBe(200);

  const expected = { code: CLOSE_CODES.ACCOUNT_DEACTIVATED, reason: 'account deactivated' };
  expect(await closeOf(onA[0]!, 'the first socket on gateway A')).toEqual(expected);
  expect(await closeOf(onA[1]!, 'the second socket on gateway A')).toEqual(expected);
  expect(await closeOf(onB, 'the socket on gateway B')).toEqual(expected);

  // the other user is untouched, on both gateways
  expect((await other.request({ event: 'users.status.online' })).data.user_id).toBe(402);
  expect((await otherOnB.request({ event: 'users.status.online' })).data.user_id).toBe(402);

  // the same token cannot come back
  await expect(connectWs(gwA.url, { token })).rejects.toMatchObject({ status: 401 });
  await expect(connectWs(gwB.url, { token })).rejects.toMatchObject({ status: 401 });

  // reactivated: the token works again, and nothing closes it
  const again = await http(`${gwA.url}/api/admin/users/401`, {
    method: 'PUT',
    auth: admin,
    json: { is_active: true },
  });
  expect(again.status).toBe(200);
  const back = await connectWs(gwA.url, { token });
  expect((await back.request({ event: 'users.status.online' })).data.user_id).toBe(401);
  await back.close();
  await other.close();
  await otherOnB.close();
});

test('an admin update that does not deactivate closes nothing', async () => {
  await createUser(backend.dialogs.rpc, 403);
  const s = await connectWs(gwA.url, { token: await mintToken(403) });
  const put = await http(`${gwA.url}/api/admin/users/403`, {
    method: 'PUT',
    auth: admin,
    json: { first_name: 'Ada', is_active: true },
  });
  expect(put.status).toBe(200);
  // the socket answers after the update has been handled everywhere
  expect((await s.request({ event: 'users.status.online' })).data.user_id).toBe(403);
  expect(s.ws.readyState).toBe(s.ws.OPEN);
  await s.close();
});
