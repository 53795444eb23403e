/** Authentication at the upgrade: every way in, every way refused, expiry on a live socket, logs. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connectWs } from '@parley/testing';
import { generateKeyPair, SignJWT } from 'jose';
import { createDialog, createUser, type StartedDialogs } from '../../dialogs/test/harness.js';
import {
  type Backend,
  captureLogger,
  JWT_SECRET,
  mintToken,
  type StartedGateway,
  startBackend,
  startGateway,
} from './helpers.js';

let backend: Backend;
let dialogs: StartedDialogs;
let gw: StartedGateway;
const captured = captureLogger();

beforeAll(async () => {
  backend = await startBackend();
  dialogs = backend.dialogs;
  gw = await startGateway(dialogs.prefix, { LOG_LEVEL: 'debug' }, captured.logger);
});

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function refusedStatus(token: string | undefined, via: 'query' | 'header' | 'protocol' = 'query') {
  try {
    const s = await connectWs(gw.url, token === undefined ? {} : { token, via });
    await s.close();
    return 'opened';
  } catch (err) {
    return (err as { status?: number }).status;
  }
}

describe('a good token', () => {
  test.each(['query', 'header', 'protocol'] as const)('opens a socket when it comes via %s', async (via) => {
    const s = await connectWs(gw.url, { token: await mintToken(101), via });
    if (via === 'protocol') expect(s.ws.protocol).toBe('bearer');
    const answer = await s.request({ event: 'users.status.online' });
    expect(answer).toEqual({
      type: 'ws_send',
      event: 'users.status.online',
      data: { user_id: 101, status_online: true },
      request_id: answer.request_id,
    });
    await s.close();
  });

  test('takes the user id from `sub` and also serves /ws without the slash', async () => {
    const s = await connectWs(gw.url, { token: await mintToken(102, { sub: true }), path: '/ws' });
    const answer = await s.request({ event: 'users.status.online' });
    expect(answer.data.user_id).toBe(102);
    await s.close();
  });

  test('creates and refreshes the profile from the claims', async () => {
    const first = await connectWs(gw.url, { token: await mintToken(103, { claims: { first_name: 'Ada' } }) });
    await first.close();
    let dialog = await createDialog(dialogs.rpc, [103]);
    expect(dialog.users[0]).toMatchObject({ id: 103, first_name: 'Ada', email: 'user103@example.com' });
    const again = await connectWs(gw.url, {
      token: await mintToken(103, { claims: { first_name: 'Grace' } }),
    });
    await again.close();
    dialog = await createDialog(dialogs.rpc, [103]);
    expect(dialog.users[0]).toMatchObject({ id: 103, first_name: 'Grace' });
  });
});

describe('refused with 401 before any socket opens', () => {
  test('no token at all', async () => {
    expect(await refusedStatus(undefined)).toBe(401);
  });

  test('a malformed token', async () => {
    expect(await refusedStatus('not-a-jwt')).toBe(401);
    expect(await refusedStatus('a.b.c', 'header')).toBe(401);
  });

  test('a wrong signature', async () => {
    const token = await mintToken(110, { secret: 'another-secret-0123456789abcdef' });
    expect(await refusedStatus(token)).toBe(401);
    expect(await refusedStatus(token, 'protocol')).toBe(401);
  });

  test('alg none', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ user_id: 111, exp })}.`;
    expect(await refusedStatus(token)).toBe(401);
  });

  test('HS/RS confusion: an RS256 token, and an HS256 header over an RS256 signature', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const rs = await new SignJWT({ user_id: 112 })
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime('1h')
      .sign(privateKey);
    expect(await refusedStatus(rs)).toBe(401);
    const [, payload, signature] = rs.split('.');
    expect(await refusedStatus(`${b64({ alg: 'HS256', typ: 'JWT' })}.${payload}.${signature}`)).toBe(401);
  });

  test('HS512 with the right secret (the algorithm is pinned)', async () => {
    const token = await new SignJWT({ user_id: 113 })
      .setProtectedHeader({ alg: 'HS512' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    expect(await refusedStatus(token)).toBe(401);
  });

  test('an expired token, and one without exp', async () => {
    expect(await refusedStatus(await mintToken(114, { ttlSec: -10 }))).toBe(401);
    const noExp = await new SignJWT({ user_id: 114 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(JWT_SECRET));
    expect(await refusedStatus(noExp)).toBe(401);
  });

  test('a token without a usable user id', async () => {
    const token = await new SignJWT({ user_id: 'abc' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    expect(await refusedStatus(token)).toBe(401);
  });

  test('an inactive user', async () => {
    await createUser(dialogs.rpc, 115, { is_active: false });
    expect(await refusedStatus(await mintToken(115))).toBe(401);
    expect(await refusedStatus(await mintToken(115), 'header')).toBe(401);
  });
});

test('a token that expires on a live socket closes it with 4401', async () => {
  const s = await connectWs(gw.url, { token: await mintToken(120, { ttlSec: 2 }) });
  const answer = await s.request({ event: 'users.status.online' });
  expect(answer.data.user_id).toBe(120);
  expect(await s.closed).toEqual({ code: 4401, reason: 'token expired' });
});

test('neither the token nor the query string reaches the logs', async () => {
  const token = await mintToken(130);
  const s = await connectWs(gw.url, {
    token,
    path: '/ws/?token=' + encodeURIComponent(token) + '&x=secretquery',
  });
  await s.request({ event: 'users.status.online' });
  await s.close();
  const viaHeader = await connectWs(gw.url, { token, via: 'header' });
  await viaHeader.close();
  const bad = `${token.slice(0, -4)}AAAA`;
  expect(await refusedStatus(bad)).toBe(401);
  expect(await refusedStatus(bad, 'protocol')).toBe(401);
  const logs = captured.lines.join('');
  expect(logs).toContain('connected');
  expect(logs).toContain('upgrade refused');
  expect(logs).not.toContain(token.split('.')[2]!);
  expect(logs).not.toContain(bad.split('.')[2]!);
  expect(logs).not.toContain('secretquery');
});

describe('ALLOWED_ORIGINS', () => {
  let strict: StartedGateway;
  beforeAll(async () => {
    strict = await startGateway(dialogs.prefix, { ALLOWED_ORIGINS: 'https://app.example.com' });
  });
  afterAll(async () => {
    await strict?.stop();
  });

  test('refuses another browser origin with 403 and accepts the listed one', async () => {
    const token = await mintToken(140);
    await expect(
      connectWs(strict.url, { token, headers: { origin: 'https://evil.example.com' } }),
    ).rejects.toMatchObject({ status: 403 });
    const ok = await connectWs(strict.url, { token, headers: { origin: 'https://app.example.com' } });
    await ok.close();
  });
});
