/**
 * The JWT attack list against the built gateway as a child process and the real dialogs: every
 * forged, confused, expired, premature, oddly typed or oversized token is refused with 401 before
 * the upgrade, through every way a token travels, and the gateway stays alive, ready and quiet
 * about tokens in its logs. A second gateway enforces the optional issuer, audience and lifetime.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connectWs } from '@parley/testing';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { buildGateway, type GatewayProcess, spawnGateway } from './gateway-process.js';
import { type Backend, http, JWT_SECRET, mintToken, startBackend } from './helpers.js';
import { rawUpgrade } from './raw-upgrade.js';

let backend: Backend;
let gw: GatewayProcess;
let strict: GatewayProcess;
const key = new TextEncoder().encode(JWT_SECRET);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  buildGateway();
  backend = await startBackend();
  // many upgrades from one address in a second are the point here, not the address limit
  gw = await spawnGateway(backend.prefix, { LOG_LEVEL: 'debug', UPGRADES_PER_IP_PER_SEC: '0' });
  strict = await spawnGateway(backend.prefix, {
    UPGRADES_PER_IP_PER_SEC: '0',
    JWT_ISSUER: 'https://platform.example',
    JWT_AUDIENCE: 'parley',
    JWT_MAX_LIFETIME_SECONDS: '3600',
  });
}, 120_000);

afterAll(async () => {
  await strict?.stop();
  await gw?.stop();
  await backend?.stop();
});

/** 'opened' or the refusal's HTTP status */
async function outcome(url: string, token: string, via: 'query' | 'header' | 'protocol' = 'query') {
  try {
    const s = await connectWs(url, { token, via });
    await s.close();
    return 'opened';
  } catch (err) {
    return (err as { status?: number }).status ?? String(err);
  }
}

const sign = (claims: Record<string, unknown>, alg = 'HS256', secret: Uint8Array = key) =>
  new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(secret);
/** signed by hand, for headers a JWT library will not write */
const hs256 = (header: unknown, payload: unknown) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
};
const valid = (extra: Record<string, unknown> = {}) => sign({ user_id: 701, exp: now() + 3600, ...extra });

/** Every attack: a name and the token. */
async function attacks(): Promise<Array<[string, string]>> {
  const exp = now() + 3600;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const rs = await new SignJWT({ user_id: 702, exp }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
  const [, rsPayload, rsSig] = rs.split('.');
  const pem = await exportSPKI(publicKey);
  const good = await valid();
  const [goodHeader, goodPayload] = good.split('.');
  const list: Array<[string, string]> = [
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ user_id: 703, exp })}.`],
    [
      'alg None with a signature',
      `${b64({ alg: 'None' })}.${b64({ user_id: 703, exp })}.${good.split('.')[2]}`,
    ],
    ['alg NONE', `${b64({ alg: 'NONE' })}.${b64({ user_id: 703, exp })}.`],
    [
      'wrong key',
      await sign({ user_id: 704, exp }, 'HS256', new TextEncoder().encode('another-secret-0123456789abcdef')),
    ],
    ['HS512 with the right secret', await sign({ user_id: 705, exp }, 'HS512')],
    ['HS384 with the right secret', await sign({ user_id: 705, exp }, 'HS384')],
    ['RS256', rs],
    ['HS256 header over an RS256 signature', `${b64({ alg: 'HS256', typ: 'JWT' })}.${rsPayload}.${rsSig}`],
    [
      'HS256 keyed with the RSA public key',
      await sign({ user_id: 706, exp }, 'HS256', new TextEncoder().encode(pem)),
    ],
    [
      'payload swapped under a valid signature',
      `${goodHeader}.${b64({ user_id: 1, exp })}.${good.split('.')[2]}`,
    ],
    ['signature stripped', `${goodHeader}.${goodPayload}.`],
    [
      'unknown crit header',
      hs256({ alg: 'HS256', crit: ['x-parley'], 'x-parley': 1 }, { user_id: 707, exp }),
    ],
    ['expired', await sign({ user_id: 708, exp: now() - 10 })],
    ['no exp', await sign({ user_id: 708 })],
    ['exp as a string', await sign({ user_id: 708, exp: String(exp) })],
    ['nbf in the future', await sign({ user_id: 709, exp, nbf: now() + 600 })],
    ['malformed: one segment', 'abc'],
    ['malformed: three junk segments', 'a.b.c'],
    ['malformed: empty segments', '..'],
    ['malformed: header not JSON', `${Buffer.from('{not json').toString('base64url')}.${goodPayload}.x`],
    ['malformed: five segments (JWE shape)', `${good}.a.b`],
    ['oversized: a valid signature over 9 KiB', await valid({ pad: 'x'.repeat(9 * 1024) })],
  ];
  const odd: Array<[string, unknown]> = [
    ['a word', 'abc'],
    ['an empty string', ''],
    ['a numeric string with junk', '12abc'],
    ['a float', 1.5],
    ['negative', -1],
    ['zero', 0],
    ['past 2^53', 2 ** 53 + 2],
    ['1e308', 1e308],
    ['an object', { id: 1 }],
    ['an array', [1]],
    ['null', null],
    ['true', true],
  ];
  for (const [name, user_id] of odd) list.push([`user_id ${name}`, await sign({ user_id, exp })]);
  list.push(['sub a word', await sign({ sub: 'abc', exp })]);
  list.push(['sub negative', await sign({ sub: '-5', exp })]);
  return list;
}

describe('the attack list', () => {
  test('every attack is refused with 401 via query, header and sub-protocol; the gateway stays alive', async () => {
    const list = await attacks();
    expect(list.length).toBeGreaterThan(30);
    const outcomes: Record<string, unknown> = {};
    for (const [name, token] of list) {
      for (const via of ['query', 'header', 'protocol'] as const) {
        // tokens that are not valid sub-protocol names cannot travel there (the client refuses them)
        if (via === 'protocol' && !/^[A-Za-z0-9._~+/=-]+$/.test(token)) continue;
        outcomes[`${name} via ${via}`] = await outcome(gw.url, token, via);
      }
    }
    const expected = Object.fromEntries(Object.keys(outcomes).map((k) => [k, 401]));
    expect(outcomes).toEqual(expected);
    expect(gw.alive()).toBe(true);
  }, 120_000);

  test('tokens past the HTTP header limit are refused by the parser (400/431), not a crash', async () => {
    const huge = await valid({ pad: 'x'.repeat(40 * 1024) });
    expect([400, 431]).toContain(await rawUpgrade(gw.url, `/ws/?token=${huge}`));
    expect([400, 431]).toContain(await rawUpgrade(gw.url, '/ws/', [['Authorization', `Bearer ${huge}`]]));
    expect(gw.alive()).toBe(true);
  });

  test('afterwards: alive, ready, a good token works, and no token reached the logs', async () => {
    const good = await mintToken(710);
    const s = await connectWs(gw.url, { token: good });
    expect((await s.request({ event: 'users.status.online' })).data.user_id).toBe(710);
    await s.close();
    expect((await http(`${gw.url}/healthz`)).status).toBe(200);
    expect((await http(`${gw.url}/readyz`)).status).toBe(200);
    expect(gw.alive()).toBe(true);
    const logs = gw.output();
    expect(logs).toContain('upgrade refused');
    for (const [, token] of await attacks()) {
      const sig = token.split('.')[2];
      if (sig && sig.length > 20) expect(logs).not.toContain(sig);
    }
    expect(logs).not.toContain(good.split('.')[2]!);
  });
});

describe('JWT_ISSUER, JWT_AUDIENCE, JWT_MAX_LIFETIME_SECONDS', () => {
  const iss = 'https://platform.example';
  const aud = 'parley';

  test('a token with the right issuer, audience and lifetime opens', async () => {
    expect(
      await outcome(strict.url, await sign({ user_id: 720, iss, aud, iat: now(), exp: now() + 600 })),
    ).toBe('opened');
    expect(
      await outcome(
        strict.url,
        await sign({ user_id: 720, iss, aud: ['lms', aud], iat: now(), exp: now() + 600 }),
      ),
    ).toBe('opened');
    // a refresh chain: no iat, orig_iat within the limit
    expect(
      await outcome(
        strict.url,
        await sign({ user_id: 720, iss, aud, orig_iat: now() - 60, exp: now() + 600 }),
      ),
    ).toBe('opened');
  });

  test.each([
    ['no issuer', { aud, iat: 0, exp: 600 }],
    ['another issuer', { iss: 'https://evil.example', aud, iat: 0, exp: 600 }],
    ['no audience', { iss, iat: 0, exp: 600 }],
    ['another audience', { iss, aud: 'other', iat: 0, exp: 600 }],
    ['a lifetime over the limit (iat)', { iss, aud, iat: 0, exp: 7200 }],
    ['a lifetime over the limit (orig_iat)', { iss, aud, orig_iat: -4000, exp: 600 }],
    ['no iat, exp further than the limit', { iss, aud, exp: 7200 }],
  ] as const)('%s → 401', async (_name, claims) => {
    const t = now();
    const shifted: Record<string, unknown> = { user_id: 721 };
    for (const [k, v] of Object.entries(claims)) shifted[k] = typeof v === 'number' ? t + v : v;
    expect(await outcome(strict.url, await sign(shifted))).toBe(401);
    // the default gateway (no policy) accepts the same token
    if (claims.exp <= 3600) expect(await outcome(gw.url, await sign(shifted))).toBe('opened');
  });
});
