/** The browser client's files (src/http/client.ts): allow-list, content types, CSP, nosniff. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomPrefix } from '@parley/testing';
import { CLIENT_CSP } from '../src/http/client.js';
import { http, type StartedGateway, startGateway } from './helpers.js';

let gw: StartedGateway;

beforeAll(async () => {
  gw = await startGateway(randomPrefix());
});

afterAll(async () => {
  await gw?.stop();
});

test.each([
  ['/', 'text/html; charset=utf-8', '<script type="module" src="/app/app.js">'],
  ['/app/index.html', 'text/html; charset=utf-8', '<!doctype html>'],
  ['/app/app.js', 'text/javascript; charset=utf-8', 'new this.WS(url, ["bearer", '],
  ['/app/app.css', 'text/css; charset=utf-8', '.msg.mine'],
])('GET %s: %s with a strict CSP and nosniff', async (path, type, excerpt) => {
  const res = await http(`${gw.url}${path}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(type);
  expect(res.headers.get('content-security-policy')).toBe(CLIENT_CSP);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(String(res.body)).toContain(excerpt);
});

test('the CSP allows nothing inline and no other origin', () => {
  expect(CLIENT_CSP).toBe(
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; " +
      "script-src 'self'; frame-ancestors 'none'",
  );
});

test.each([
  '/app/nope.js',
  '/app/..%2Fpackage.json',
  '/app/%2e%2e/src/app.ts',
  '/app/../package.json',
  '/app/',
  '/public/app.js',
  '/app/app.js/',
  '/index.html',
])('GET %s: 404, nothing outside the allow-list', async (path) => {
  const res = await http(`${gw.url}${path}`);
  expect(res.status).toBe(404);
  expect(res.headers.get('content-security-policy')).toBeNull();
});

test('only GET (and HEAD) serves the page: another method → 405 with Allow', async () => {
  const res = await http(`${gw.url}/`, { method: 'POST', json: {} });
  expect(res).toMatchObject({ status: 405, body: { code: 'method_not_allowed' } });
  expect(res.headers.get('allow')).toBe('GET, HEAD');
});
