/**
 * Hostile HTTP input against the built gateway running as a child process (a crash is the process
 * exiting), next to a real `dialogs`: odd request targets and headers over raw TCP, then 2,000
 * generated requests (fast-check). Afterwards the process is alive and ready, every JSON error body
 * carries a catalogue code, and no body or log line holds a stack frame, SQL, a token or a message
 * body. Also: an upload whose client disconnects mid-body leaves no chunk in the object store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { ERROR_CODES, subjects } from '@parley/protocol';
import { freePort, natsUrl, waitFor } from '@parley/testing';
import fc from 'fast-check';
import { createUser } from '../../dialogs/test/harness.js';
import { type Backend, JWT_SECRET, mintToken, rawRequest, startBackend } from './helpers.js';

const MAIN = join(import.meta.dirname, '../dist/main.js');
/** a message body that must never reach a log line */
const SECRET_BODY = 'hostile-secret-message-body-7f3a';

let backend: Backend;
let child: ChildProcess;
let exited = false;
let out = '';
let port: number;
let token: string;
let nc: NatsConnection;

beforeAll(async () => {
  backend = await startBackend();
  await createUser(backend.dialogs.rpc, 4001);
  token = await mintToken(4001);
  port = await freePort();
  child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      NATS_URL: await natsUrl(),
      SUBJECT_PREFIX: backend.prefix,
      JWT_SECRET,
      LOG_LEVEL: 'debug',
      HTTP_RATE_LIMIT_PER_MIN: '1000000',
      MAX_UPLOAD_BYTES: String(4 * 1024 * 1024),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.once('exit', () => {
    exited = true;
  });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
    timeoutMs: 30_000,
    what: 'the gateway process to be ready',
  });
  nc = await connectBus({ servers: [await natsUrl()], name: 'hostile-observer', logger: silentLogger() });
}, 60_000);

afterAll(async () => {
  if (child && !exited) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }
  await nc?.close();
  await backend?.stop();
});

const alive = async () => {
  expect(exited).toBe(false);
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
};

/** the status line's code, or null when the connection closed without an answer */
const statusOf = (answer: string) => {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
  return m ? Number(m[1]) : null;
};

const bodiesOf = (answer: string) => answer.split('\r\n\r\n').slice(1).join('\r\n\r\n');

/** what must never leave the process, in a body or a log line */
function assertNothingLeaks(text: string): void {
  expect(text).not.toMatch(/\n\s+at [^\n]+:\d+:\d+/);
  expect(text).not.toMatch(/\b(SELECT|INSERT INTO|UPDATE \w+ SET)\b/);
  expect(text).not.toContain(token);
  expect(text).not.toContain(SECRET_BODY);
}

describe('odd requests over raw TCP', () => {
  const cases: Array<[string, string | Buffer]> = [
    ['GET //', 'GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['GET /%', 'GET /% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['GET /%zz', 'GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['GET http://x/y', 'GET http://x/y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['a 16 KiB URL', `GET /${'a'.repeat(16 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
    [
      'a header flood',
      `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('')}\r\n`,
    ],
    ['a bad Content-Length', 'POST /api/users/me/ HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}'],
    [
      'two Content-Lengths',
      'POST /api/admin/dialogs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    ],
    ['a negative Content-Length', 'PATCH /api/users/me/ HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'],
    ['a garbage request line', '\x00\x01\x02 / HTTP/9.9\r\n\r\n'],
    [
      'a bad chunked body',
      'PATCH /api/users/me/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ],
  ];
  test.each(cases)('%s → a 4xx or a closed connection; the process keeps serving', async (_name, text) => {
    const answer = await rawRequest(port, text, 10_000);
    const status = statusOf(answer);
    if (status !== null) expect(status).toBeGreaterThanOrEqual(400);
    if (status !== null) expect(status).toBeLessThan(500);
    assertNothingLeaks(answer);
    await alive();
  });

  test('a body that ends early (declared 1000 bytes, 10 sent, then the client goes) → the process keeps serving', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      `PATCH /api/users/me/ HTTP/1.1\r\nHost: x\r\nAuthorization: JWT ${token}\r\nContent-Length: 1000\r\n\r\n{"email_no`,
    );
    socket.destroy();
    await alive();
  });
});

describe('generated requests', () => {
  const methods = fc.oneof(
    fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PRI'),
    fc.stringMatching(/^[A-Za-z!#$%&'*+.^_`|~-]{1,12}$/),
  );
  const paths = fc.constantFrom(
    '/',
    '/healthz',
    '/readyz',
    '/openapi.json',
    '/api/users/me/',
    '/api/dialogs/new-message/',
    '/api/files/',
    '/api/admin/dialogs',
    '/api/admin/users/1',
    '/api/unsubscribe/1/x',
    '/media/files/x/y.png',
    '/app/app.js',
    '/ws/',
  );
  const target = fc.oneof(
    paths,
    fc
      .tuple(paths, fc.string({ unit: 'binary-ascii', maxLength: 40 }))
      .map(([p, s]) => p + s.replace(/[\s]/g, '')),
    fc
      .string({ unit: 'binary-ascii', minLength: 1, maxLength: 60 })
      .map((s) => s.replace(/[\s]/g, '') || '/'),
  );
  const header = fc.tuple(
    fc.oneof(
      fc.constantFrom(
        'Content-Type',
        'Content-Length',
        'Authorization',
        'Origin',
        'Transfer-Encoding',
        'Expect',
        'Upgrade',
        'Connection',
      ),
      fc
        .string({ unit: 'binary-ascii', minLength: 1, maxLength: 20 })
        .map((s) => s.replace(/[\r\n:]/g, '') || 'x'),
    ),
    fc.oneof(
      fc.constantFrom(
        'application/json',
        'multipart/form-data; boundary=b',
        '100-continue',
        'chunked',
        `JWT ${'a'.repeat(30)}`,
        '0',
        '5',
        '-1',
        'websocket',
      ),
      fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, '')),
    ),
  );
  const body = fc.oneof(
    fc.constant(''),
    fc.constant(JSON.stringify({ body: SECRET_BODY })),
    fc.json({ maxDepth: 3 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
  );
  const request = fc.record({
    method: methods,
    target,
    headers: fc.array(header, { maxLength: 8 }),
    body,
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/1.1', 'HTTP/2.0'),
  });

  test('2,000 random requests: never a 5xx but 503, every JSON error has a catalogue code, nothing leaks; the process stays ready', async () => {
    const seen = new Map<number | null, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const head = [
          `${r.method} ${r.target} ${r.version}`,
          'Host: 127.0.0.1',
          ...r.headers.map(([k, v]) => `${k}: ${v}`),
          'Connection: close',
        ];
        const answer = await rawRequest(
          port,
          Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(r.body)]),
          5_000,
        );
        const status = statusOf(answer);
        seen.set(status, (seen.get(status) ?? 0) + 1);
        if (status !== null) expect(status === 503 || status < 500).toBe(true);
        assertNothingLeaks(answer);
        const payload = bodiesOf(answer);
        if (status !== null && status >= 400 && payload.startsWith('{')) {
          const parsed = JSON.parse(payload) as { code?: string; detail?: string };
          expect(ERROR_CODES).toContain(parsed.code);
          expect(typeof parsed.detail).toBe('string');
        }
        expect(exited).toBe(false);
      }),
      { numRuns: 2000, seed: 8 },
    );
    // the generator reached the routes, not only the request-line parser
    expect([...seen.keys()].filter((s) => s !== null && s < 300).length).toBeGreaterThan(0);
    await alive();
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    assertNothingLeaks(out);
    expect(out).not.toContain('"level":50');
  }, 180_000);
});

describe('uploads', () => {
  test('a client that disconnects mid-body: the upload ends and every chunk stored for it is removed', async () => {
    const jsm = await nc.jetstreamManager();
    const stream = `OBJ_${subjects(backend.prefix).filesBucket}`;
    const messages = async () => (await jsm.streams.info(stream)).state.messages;
    expect(await messages()).toBe(0);
    const boundary = 'hostileboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="content"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const total = 3 * 1024 * 1024;
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.on('error', () => undefined);
    socket.write(
      `POST /api/files/ HTTP/1.1\r\nHost: x\r\nAuthorization: JWT ${token}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + total + boundary.length + 8}\r\n\r\n${head}`,
    );
    const piece = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    // send until chunks are in the store (half the body at most), then vanish
    await waitFor(
      async () => {
        if (sent < total / 2) {
          socket.write(piece);
          sent += piece.length;
        }
        return (await messages()) > 0;
      },
      { timeoutMs: 30_000, what: 'the first chunks of the upload to be stored' },
    );
    socket.destroy();
    await waitFor(async () => (await messages()) === 0, {
      timeoutMs: 30_000,
      what: 'every chunk of the interrupted upload to be purged',
    });
    await alive();
  }, 60_000);
});
