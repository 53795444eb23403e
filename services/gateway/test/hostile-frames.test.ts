/**
 * 10,000 generated WebSocket frames (fast-check) against the built gateway as a child process and
 * the real dialogs: random JSON, wrong types, deep nesting, huge strings, SQL- and HTML-shaped
 * values, unknown events, odd `request_id`s, binary frames. Every frame gets exactly one answer, in
 * order; every answer is a §2 frame; every error carries a catalogue code and nothing internal
 * (stack, SQL, driver text); the socket stays open; afterwards the process is alive and ready, and
 * its logs hold neither the token nor any message body.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CLIENT_EVENTS, ERROR_CODES, GATEWAY_EVENTS } from '@parley/protocol';
import { connectWs, type Frame, type TestSocket, waitFor } from '@parley/testing';
import fc from 'fast-check';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import { buildGateway, type GatewayProcess, spawnGateway } from './gateway-process.js';
import { type Backend, http, mintToken, startBackend } from './helpers.js';

const BATCHES = 100;
const BATCH = 100; // 10,000 frames in all
const USER = 801;
/** in every generated message body: the logs must never contain it */
const MARKER = `fz${randomBytes(6).toString('hex')}`;

let backend: Backend;
let gw: GatewayProcess;
let dialogId: number;
let token: string;

beforeAll(async () => {
  buildGateway();
  backend = await startBackend();
  gw = await spawnGateway(backend.prefix, {
    LOG_LEVEL: 'debug',
    // the fuzzer pipelines a batch at a time: neither the rate limit nor the queue cap is under test
    RATE_LIMIT_PER_SEC: '100000',
    RATE_LIMIT_BURST: '100000',
    MAX_QUEUED_FRAMES: '100000',
    // generated frames stay under 1 MiB (14 fields of at most 60 KB, nesting of at most 120 KB);
    // the size limit (1009) has its own test in limits.test.ts
    MAX_FRAME_BYTES: String(2 * 1024 * 1024),
    MAX_QUEUED_BYTES: String(512 * 1024 * 1024),
    REQUEST_TIMEOUT_MS: '10000',
  });
  await createUser(backend.dialogs.rpc, USER);
  await createUser(backend.dialogs.rpc, USER + 1);
  dialogId = (await createDialog(backend.dialogs.rpc, [USER, USER + 1])).id;
  token = await mintToken(USER);
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
});

// ---- generators --------------------------------------------------------------------------------

const sqlish = fc.constantFrom(
  "' OR 1=1 --",
  '1; DROP TABLE messages; --',
  "1' UNION SELECT password FROM users --",
  '1)); DELETE FROM dialogs WHERE (1=1',
  "\\'; SELECT SLEEP(5); --",
  '%27%20OR%201%3D1',
);
const htmlish = fc.constantFrom(
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg onload=alert(1)>',
  'javascript:alert(1)',
  '{{constructor.constructor("alert(1)")()}}',
  '</textarea><iframe src=//evil>',
);
const oddString = fc.oneof(
  sqlish,
  htmlish,
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\uFEFF',
    '\uD800',
    'NaN',
    'Infinity',
    '-0',
    '1e999',
    '__proto__',
    'constructor',
  ),
);
const hugeString = fc.integer({ min: 10_000, max: 60_000 }).map((n) => 'A'.repeat(n));
/** deep nesting as JSON text (fast-check itself would recurse through such values) */
const deepText = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean())
  .map(([n, arrays]) =>
    arrays ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`,
  );
/** anything a JSON value can be, weighted towards the nasty */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: oddString },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER, true, null),
  },
  { weight: 1, arbitrary: hugeString },
);
const idLike = (good: () => number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(null).map(() => good()) },
    { weight: 1, arbitrary: fc.constant(null).map(() => String(good())) },
    { weight: 2, arbitrary: fc.integer({ min: -5, max: 1_000_000 }) },
    { weight: 2, arbitrary: anyValue },
  );
const body = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 60 }), sqlish, htmlish)
      .map(([a, s, h]) => `${a} ${s} ${h} ${MARKER}`),
  },
  {
    weight: 1,
    arbitrary: fc.constant(null).map(() => `# ${MARKER}\n\n**bold** [x](javascript:alert(1)) \`code\``),
  },
  { weight: 1, arbitrary: hugeString.map((s) => `${MARKER}${s}`) },
  { weight: 1, arbitrary: anyValue },
);
const requestId = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.string({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 65, maxLength: 300 }) },
  { weight: 1, arbitrary: anyValue },
);
const eventName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CLIENT_EVENTS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'sync',
      'admin.users.upsert',
      'users.upsert_from_claims',
      'files.get',
      'error',
      'ws_send',
    ),
  },
  { weight: 1, arbitrary: oddString },
  { weight: 1, arbitrary: anyValue },
);
const params = fc.record(
  {
    dialog_id: idLike(() => dialogId),
    message_id: idLike(() => 1),
    reply_id: idLike(() => 1),
    file_id: anyValue,
    lesson_id: anyValue,
    before_id: anyValue,
    limit: fc.oneof(fc.integer({ min: -10, max: 200 }), anyValue),
    offset: fc.oneof(fc.integer({ min: -10, max: 1_000_000 }), anyValue),
    body,
    client_id: fc.oneof(fc.string({ maxLength: 80 }), anyValue),
    up_to: anyValue,
    since: anyValue,
    filter: fc.oneof(fc.constant('awaiting_reply'), anyValue),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

/** well-formed frames whose strings are hostile: they reach dialogs, the database and back */
const goodDialog = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null).map(() => dialogId) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) },
);
const shortId = fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: 2_000 }).map(String));
const validParams = fc.oneof(
  fc.record(
    {
      event: fc.constant('dialogs.messages.create'),
      dialog_id: goodDialog,
      body: body.filter((b) => typeof b === 'string' && b.length <= 10_000),
      client_id: fc.oneof(fc.string({ maxLength: 64 }), sqlish, htmlish),
      reply_id: shortId,
      lesson_id: shortId,
    },
    { requiredKeys: ['event', 'dialog_id', 'body'] },
  ),
  fc.record(
    {
      event: fc.constant('dialogs.messages.load'),
      dialog_id: goodDialog,
      limit: fc.integer({ min: 0, max: 100 }),
      offset: fc.integer({ min: 0, max: 50 }),
      before_id: shortId,
    },
    { requiredKeys: ['event', 'dialog_id'] },
  ),
  fc.record(
    {
      event: fc.constant('dialogs.messages.seen'),
      dialog_id: goodDialog,
      message_id: shortId,
      up_to: fc.boolean(),
    },
    { requiredKeys: ['event', 'dialog_id', 'message_id'] },
  ),
  fc.record({
    event: fc.constant('dialogs.messages.search.id'),
    dialog_id: goodDialog,
    message_id: shortId,
    limit: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record(
    {
      event: fc.constant('dialogs.load'),
      limit: fc.integer({ min: 0, max: 100 }),
      offset: fc.integer({ min: 0, max: 20 }),
    },
    { requiredKeys: ['event'] },
  ),
  fc.record({ event: fc.constant('notifications.dialogs.messages.count'), dialog_id: goodDialog }),
);
const validFrame = fc.tuple(validParams, requestId).map(([p, rid]): Outgoing => {
  const frame: Record<string, unknown> = { ...p };
  if (rid !== undefined) frame.request_id = rid;
  return { text: JSON.stringify(frame) };
});

type Outgoing = { text: string } | { binary: Buffer };

/** a key a deeply nested value is appended under (a key already present is then given twice) */
const deepKey = fc.constantFrom('dialog_id', 'body', 'limit', 'request_id', 'event', 'extra', '__proto__');

const objectFrame = fc
  .tuple(eventName, requestId, params, fc.option(fc.tuple(deepKey, deepText), { freq: 8 }))
  .map(([event, rid, p, deep]): Outgoing => {
    const frame: Record<string, unknown> = { ...p, event };
    if (rid !== undefined) frame.request_id = rid;
    let text = JSON.stringify(frame);
    if (deep) text = `${text.slice(0, -1)},"${deep[0]}":${deep[1]}}`;
    return { text };
  });
const frameArb: fc.Arbitrary<Outgoing> = fc.oneof(
  { weight: 8, arbitrary: objectFrame },
  { weight: 6, arbitrary: validFrame },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }).map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ text })) },
  { weight: 1, arbitrary: deepText.map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => ({ binary: Buffer.from(b) })) },
);

// ---- checks ------------------------------------------------------------------------------------

/** what must never reach a client in an error: stack frames, SQL, driver and runtime error text */
const LEAK =
  /\bat [\w.<>]+ \(|node_modules|\.[jt]s:\d+|\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET|WHERE)\b|\bER_[A-Z_]+\b|sqlMessage|sqlState|TypeError|ReferenceError|RangeError|SyntaxError|Unexpected token|Cannot read prop|undefined is not|ECONNREFUSED|mysql|typeorm|nats/i;

function problemWith(answer: Frame, sent: Outgoing): string | null {
  if (answer.type !== 'ws_send') return 'type is not ws_send';
  if (typeof answer.event !== 'string' || answer.event.length > 100) return 'event is not a short string';
  if ('unparsable' in answer) return 'not JSON';
  if (answer.exception === true) {
    if (!ERROR_CODES.includes(answer.error?.code))
      return `error code ${answer.error?.code} not in the catalogue`;
    if (answer.error.code === 'internal') return 'internal error';
    if (typeof answer.data !== 'string' || typeof answer.error.message !== 'string')
      return 'error without sentences';
    const told = JSON.stringify({ data: answer.data, error: answer.error });
    if (LEAK.test(told)) return `leaks: ${told}`;
    if (told.includes(MARKER)) return 'echoes a message body in an error';
  } else {
    // the gateway answers `sync` itself (PROTOCOL.md §8): a valid one is a successful answer too
    if (!([...CLIENT_EVENTS, ...GATEWAY_EVENTS] as string[]).includes(answer.event))
      return `answer under ${answer.event}`;
    if (!('data' in answer)) return 'answer without data';
  }
  if ('request_id' in answer && 'text' in sent) {
    let rid: unknown;
    try {
      rid = (JSON.parse(sent.text) as Record<string, unknown>).request_id;
    } catch {
      return 'request_id on an answer to a frame that is not JSON';
    }
    if (answer.request_id !== rid) return 'request_id not echoed as sent';
  }
  if (JSON.stringify(answer).includes(token)) return 'holds the token';
  return null;
}

test('10,000 generated frames: one §2 answer each, catalogue codes, nothing internal; the gateway lives', async () => {
  const s: TestSocket = await connectWs(gw.url, { token });
  let sent = 0;
  let failure: string | undefined;
  await fc
    .assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const from = s.frames.length;
        for (const f of batch) s.sendRaw('text' in f ? f.text : f.binary);
        sent += batch.length;
        await waitFor(() => s.frames.length >= from + batch.length || s.ws.readyState !== s.ws.OPEN, {
          timeoutMs: 120_000,
          intervalMs: 20,
          what: `answers to a batch (${s.frames.length - from}/${batch.length})`,
        });
        if (s.ws.readyState !== s.ws.OPEN) {
          failure = `socket closed: ${JSON.stringify(await s.closed)}`;
          return false;
        }
        for (let i = 0; i < batch.length; i++) {
          const problem = problemWith(s.frames[from + i]!, batch[i]!);
          if (problem) {
            const frame = batch[i]!;
            const shown = 'text' in frame ? frame.text.slice(0, 300) : `<binary ${frame.binary.length}>`;
            failure = `${problem}\n  frame: ${shown}\n  answer: ${JSON.stringify(s.frames[from + i]).slice(0, 500)}`;
            return false;
          }
        }
        return true;
      }),
      { numRuns: BATCHES, endOnFailure: true },
    )
    .catch((err: Error) => {
      throw new Error(`${failure ?? ''}\n${err.message.slice(0, 2_000)}`);
    });
  expect(sent).toBe(BATCHES * BATCH);
  expect(s.frames).toHaveLength(BATCHES * BATCH);
  // the generator reached every layer: the parser, validation, dialogs (answers and refusals)
  const outcomes = new Map<string, number>();
  for (const f of s.frames) {
    const key = f.exception ? f.error.code : `ok ${f.event}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  process.stderr.write(`hostile frames: ${JSON.stringify(Object.fromEntries(outcomes))}\n`);
  for (const code of ['bad_request', 'unknown_event', 'validation_error', 'not_found']) {
    expect({ code, seen: (outcomes.get(code) ?? 0) > 0 }).toEqual({ code, seen: true });
  }
  expect(outcomes.get('ok dialogs.messages.create') ?? 0).toBeGreaterThan(0);

  // alive and ready; the same socket still works
  expect(gw.alive()).toBe(true);
  expect((await http(`${gw.url}/readyz`)).status).toBe(200);
  expect((await s.request({ event: 'users.status.online' }, 30_000)).data.user_id).toBe(USER);
  await s.close();

  // the logs hold neither the token nor any message body
  const logs = gw.output();
  expect(logs.length).toBeGreaterThan(0);
  expect(logs).not.toContain(token.split('.')[2]!);
  expect(logs).not.toContain(MARKER);
}, 600_000);
