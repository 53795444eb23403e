/**
 * The browser client (services/gateway/public) in Debian's Chromium, driven by playwright-core, against
 * the real system: dialogs (MariaDB), notifier (counter pushes) and the gateway serving the page.
 * User A is the page; user B is a ws test client. Never a downloaded browser build.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { connectWs, natsUrl, type TestSocket } from '@parley/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createDialog, createUser } from '../services/dialogs/test/harness.js';
import {
  type Backend,
  mintToken,
  type StartedGateway,
  startBackend,
  startGateway,
} from '../services/gateway/test/helpers.js';
import { createNotifierService, type NotifierService } from '../services/notifier/src/app.js';
import { notifierConfigSpec } from '../services/notifier/src/config.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = join(import.meta.dirname, '..', 'var', 'screenshots', 'browser.png');
const WAIT_MS = 10_000;

const logger = silentLogger();
let backend: Backend;
let gw: StartedGateway;
let nc: NatsConnection;
let notifier: NotifierService;
let browser: Browser;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error("install Debian's chromium: apt-get install chromium");
  backend = await startBackend();
  gw = await startGateway(backend.prefix);
  nc = await connectBus({ servers: [await natsUrl()], name: 'e2e-browser', logger });
  const config = parseConfig(notifierConfigSpec, {
    NATS_URL: await natsUrl(),
    SUBJECT_PREFIX: backend.prefix,
  });
  notifier = createNotifierService({ config: config.config, nc, logger });
  await notifier.start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const s of sockets) await s.close().catch(() => undefined);
  await notifier?.stop();
  await gw?.stop();
  await backend?.stop();
  if (!nc) return;
  const s = subjects(backend.prefix);
  const jsm = await nc.jetstreamManager();
  for (const name of [s.eventStream, `KV_${s.leaseBucket('notifier')}`]) {
    await jsm.streams.delete(name).catch(() => undefined);
  }
  await nc.close();
}, 60_000);

async function socket(userId: number): Promise<TestSocket> {
  const s = await connectWs(gw.url, { token: await mintToken(userId) });
  sockets.push(s);
  return s;
}

/** A page of `userId`, its token in the fragment; page errors and CSP reports are collected. */
async function openPage(userId: number, ttlSec?: number): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(msg.text());
  });
  const token = await mintToken(userId, ttlSec ? { ttlSec } : {});
  await page.goto(`${gw.url}/#token=${token}`);
  await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: WAIT_MS });
  return { page, problems };
}

async function send(s: TestSocket, dialogId: number, body: string): Promise<number> {
  const answer = await s.request({ event: 'dialogs.messages.create', dialog_id: dialogId, body }, WAIT_MS);
  expect(answer.exception).toBeUndefined();
  return answer.data.id as number;
}

test('user A in Chromium: live messages and badges, sending through the form, seen marks, no script from a body', async () => {
  const { rpc } = backend.dialogs;
  await createUser(rpc, 1, { first_name: 'Anna', last_name: 'Petrova' });
  await createUser(rpc, 2, { first_name: 'Boris', last_name: 'Ivanov' });
  const dialog = await createDialog(rpc, [1, 2]);
  const b = await socket(2);
  const { page, problems } = await openPage(1);
  // the token left the address bar as soon as it was read
  expect(page.url()).toBe(`${gw.url}/`);

  const item = page.locator(`.dialog[data-id="${dialog.id}"]`);
  await item.locator('.name', { hasText: 'Boris Ivanov' }).waitFor({ timeout: WAIT_MS });
  await expect(item.locator('.badge').isHidden()).resolves.toBe(true);
  await page.locator('#total-unread', { hasText: /^0$/ }).waitFor({ timeout: WAIT_MS });

  // B writes while the dialog is closed: the dialog's badge and the total arrive as pushes
  const first = await send(b, dialog.id, 'Hello **Anna**');
  await item.locator('.badge', { hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
  await page.locator('#total-unread', { hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
  await item.locator('.preview', { hasText: 'Hello **Anna**' }).waitFor({ timeout: WAIT_MS });

  // A opens it: the message renders as HTML, and A marks it seen (B gets the seen push, counters drop)
  const from = b.frames.length;
  await item.click();
  const firstEl = page.locator(`.msg[data-id="${first}"]`);
  await firstEl.locator('.body strong', { hasText: 'Anna' }).waitFor({ timeout: WAIT_MS });
  await expect(firstEl.locator('.author').textContent()).resolves.toBe('Boris Ivanov');
  await b.next((f) => f.event === 'dialogs.messages.seen' && f.data?.id === first, {
    from,
    timeoutMs: WAIT_MS,
  });
  await page.locator('#total-unread', { hasText: /^0$/ }).waitFor({ timeout: WAIT_MS });
  await item.locator('.badge').waitFor({ state: 'hidden', timeout: WAIT_MS });

  // a message arriving in the open dialog shows up live and is marked seen at once
  const second = await send(b, dialog.id, 'Are you there?');
  await page
    .locator(`.msg[data-id="${second}"]`, { hasText: 'Are you there?' })
    .waitFor({ timeout: WAIT_MS });
  await b.next((f) => f.event === 'dialogs.messages.seen' && f.data?.id === second, { timeoutMs: WAIT_MS });

  // A answers through the form: B gets the push; A's page shows it once, as A's own
  const before = b.frames.length;
  await page.fill('#send-body', 'Yes, *here*');
  await page.click('#send-form button[type="submit"]');
  const push = await b.next(
    (f) => f.event === 'dialogs.messages.create' && f.request_id === undefined && f.data?.user?.id === 1,
    { from: before, timeoutMs: WAIT_MS },
  );
  expect(push.data).toMatchObject({ dialog: dialog.id, markdown_body: 'Yes, *here*' });
  const mine = page.locator(`.msg.mine[data-id="${push.data.id}"]`);
  await mine.locator('.body em', { hasText: 'here' }).waitFor({ timeout: WAIT_MS });
  await expect(page.locator('#messages .msg').count()).resolves.toBe(3);
  await expect(page.locator('#send-body').inputValue()).resolves.toBe('');

  // a body trying to run script: sanitized by the server, and the page's CSP would refuse it anyway
  const evil = await send(b, dialog.id, 'look <img src="/x.png" onerror="window.__parleyPwned = 1">');
  const evilEl = page.locator(`.msg[data-id="${evil}"]`);
  await evilEl.waitFor({ timeout: WAIT_MS });
  await expect(evilEl.locator('[onerror]').count()).resolves.toBe(0);
  await mkdir(join(SCREENSHOT, '..'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  // what a sanitizer bug would let through: the page's CSP must refuse the inline handler (page scripts
  // are strings: this repo's tsconfig has no DOM lib)
  const blocked = await page.evaluate<string>(`new Promise((resolve) => {
    document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true });
    setTimeout(() => resolve('no violation reported'), 5000);
    const probe = document.createElement('div');
    probe.innerHTML = '<img src="/missing.png" onerror="window.__parleyPwned = 2">';
    document.body.append(probe);
  })`);
  expect(blocked).toMatch(/^script-src/);
  await expect(page.evaluate('typeof window.__parleyPwned')).resolves.toBe('undefined');

  expect(problems.filter((p) => !/Content Security Policy/.test(p))).toEqual([]);
  await page.close();
});

test('an error frame is shown as a toast with its `data` sentence', async () => {
  const { page, problems } = await openPage(1);
  const errors: Array<{ data: string }> = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      const frame = JSON.parse(String(payload));
      // a server without PROTOCOL.md §8 answers the client's `sync` with unknown_event; not shown to people
      if (frame.exception && frame.event !== 'sync') errors.push(frame);
    }),
  );
  await page.reload();
  await page.locator('#token-form').waitFor({ timeout: WAIT_MS });
  // the token left the URL: a reload asks for it; the form connects without putting it anywhere
  await page.fill('#token-input', await mintToken(1));
  await page.click('#token-form button[type="submit"]');
  await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: WAIT_MS });
  await page.locator('.dialog').first().click();
  // a body over MAX_BODY_CHARS (10000) is refused with a validation error
  await page.fill('#send-body', 'x'.repeat(10_001));
  await page.click('#send-form button[type="submit"]');
  const toast = page.locator('#toast');
  await toast.waitFor({ state: 'visible', timeout: WAIT_MS });
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ event: 'dialogs.messages.create', error: { code: 'validation_error' } });
  await expect(toast.textContent()).resolves.toBe(errors[0]!.data);
  await expect(page.evaluate('JSON.stringify(localStorage) + JSON.stringify(sessionStorage)')).resolves.toBe(
    '{}{}',
  );
  expect(problems).toEqual([]);
  await page.close();
});

test('after the gateway restarts, the page reconnects by itself and gets live messages again', async () => {
  const { page } = await openPage(1);
  const dialogId = Number(await page.locator('.dialog').first().getAttribute('data-id'));
  await page.locator('.dialog').first().click();
  await page.locator('#send-form').waitFor({ timeout: WAIT_MS });
  const port = gw.gateway.port();
  await gw.stop();
  await page.locator('#status', { hasText: /^reconnecting/ }).waitFor({ timeout: WAIT_MS });
  // written while the page has no socket: it appears once the page is back, exactly once
  const missed = await backend.dialogs.rpc.request('dialogs.messages.create', {
    caller: { user_id: 2, conn_id: null },
    params: { dialog_id: dialogId, body: 'while you were away' },
  });
  gw = await startGateway(backend.prefix, { PORT: String(port) });
  await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 20_000 });
  await page.locator(`.msg[data-id="${missed.data.id}"]`).waitFor({ timeout: WAIT_MS });
  const b = await socket(2);
  const id = await send(b, dialogId, 'after the restart');
  await page.locator(`.msg[data-id="${id}"]`, { hasText: 'after the restart' }).waitFor({ timeout: WAIT_MS });
  // nothing is shown twice: every message id once in the list
  const ids = await page
    .locator('#messages .msg')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
  expect(new Set(ids).size).toBe(ids.length);
  await page.close();
});

test('a token that expires on a live socket (4401): "session expired" and the token form', async () => {
  const { page } = await openPage(1, 3);
  await page.locator('#status', { hasText: 'session expired' }).waitFor({ timeout: WAIT_MS });
  await page.locator('#token-form').waitFor({ state: 'visible', timeout: WAIT_MS });
  await page.close();
});

test('a reviewer\'s "waiting" view: oldest first, updated live from the awaiting push (PROTOCOL.md §9)', async () => {
  const { rpc } = backend.dialogs;
  await createUser(rpc, 50, { role: 'reviewer', first_name: 'Rita', last_name: 'Reviewer' });
  await createUser(rpc, 51, { first_name: 'Olga', last_name: 'First' });
  await createUser(rpc, 52, { first_name: 'Pavel', last_name: 'Second' });
  const older = await createDialog(rpc, [51, 50]);
  const newer = await createDialog(rpc, [52, 50]);
  const [s51, s52] = [await socket(51), await socket(52)];
  await send(s51, older.id, 'first question');
  const { page, problems } = await openPage(50);
  const rows = page.locator('#waiting-list .dialog');
  await page.locator('#waiting-count', { hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
  await rows.first().locator('.name', { hasText: 'Olga First' }).waitFor({ timeout: WAIT_MS });

  // a second student writes: the push adds the dialog below the older one
  await send(s52, newer.id, 'second question');
  await page.locator('#waiting-count', { hasText: /^2$/ }).waitFor({ timeout: WAIT_MS });
  await page.locator(`#waiting-list .dialog[data-id="${newer.id}"]`).waitFor({ timeout: WAIT_MS });
  await expect(rows.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-id'))))).resolves.toEqual(
    [older.id, newer.id],
  );

  // the reviewer answers the older one from the page: it leaves the view
  await rows.first().click();
  await page.fill('#send-body', 'here is an answer');
  await page.click('#send-form button[type="submit"]');
  await page.locator('#waiting-count', { hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
  await page
    .locator(`#waiting-list .dialog[data-id="${older.id}"]`)
    .waitFor({ state: 'detached', timeout: WAIT_MS });
  await expect(rows.count()).resolves.toBe(1);
  expect(problems).toEqual([]);
  await page.close();
});
