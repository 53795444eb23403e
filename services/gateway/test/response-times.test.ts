/**
 * GET /api/admin/stats/response-times (PROTOCOL.md §9) through the gateway against a real `dialogs`:
 * a run answered over real messages is one sample of exactly the seconds between the run's first
 * message and the reply; percentiles are nearest-rank over a known set of samples; the window is
 * `[from, to)`; reviewers and the support team are apart, each with what awaits now; bad input is a
 * `validation_error`; the route is admin-only and in /openapi.json.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import {
  ADMIN_TOKEN,
  type Backend,
  http,
  type StartedGateway,
  startBackend,
  startGateway,
} from './helpers.js';

let backend: Backend;
let gw: StartedGateway;
const admin = `Bearer ${ADMIN_TOKEN}`;
const URL_PATH = '/api/admin/stats/response-times';

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix);
});

afterAll(async () => {
  await gw?.stop();
  await backend?.stop();
});

/** an ISO date with microseconds → microseconds since the epoch */
function micros(iso: string): number {
  const m = /^(.{19})\.(\d{6})(.*)$/.exec(iso)!;
  return Date.parse(`${m[1]}${m[3]}`) * 1000 + Number(m[2]);
}

async function say(user: number, dialogId: number, body: string): Promise<string> {
  const { data } = await backend.dialogs.rpc.request('dialogs.messages.create', {
    caller: caller(user),
    params: { dialog_id: dialogId, body },
  });
  return data.date_created;
}

describe('response times', () => {
  test('an answered run over real messages is one sample: from its first message to the reply', async () => {
    const { rpc } = backend.dialogs;
    await createUser(rpc, 1);
    await createUser(rpc, 2);
    await createUser(rpc, 10, { role: 'reviewer' });
    await createUser(rpc, 11, { role: 'reviewer' });
    await createUser(rpc, 30, { role: 'support' });
    const a = await createDialog(rpc, [1, 10]);
    const b = await createDialog(rpc, [2, 10]);
    const team = await createDialog(rpc, [2], 'support');
    const first = await say(1, a.id, 'q1');
    await say(1, a.id, 'q2'); // same run
    const reply = await say(10, a.id, 'answer');
    await say(10, a.id, 'more'); // no run open: no sample
    await say(2, b.id, 'still waiting');
    const t1 = await say(2, team.id, 'to support');
    const t2 = await say(30, team.id, 'support answers');

    const res = await http(`${gw.url}${URL_PATH}`, { auth: admin });
    expect(res.status).toBe(200);
    const seconds = (micros(reply) - micros(first)) / 1e6;
    const teamSeconds = (micros(t2) - micros(t1)) / 1e6;
    expect(res.body.reviewers).toEqual([
      { user_id: 10, count: 1, p50_s: seconds, p90_s: seconds, max_s: seconds, awaiting_now: 1 },
      { user_id: 11, count: 0, p50_s: null, p90_s: null, max_s: null, awaiting_now: 0 },
    ]);
    expect(res.body.support_team).toEqual({
      count: 1,
      p50_s: teamSeconds,
      p90_s: teamSeconds,
      max_s: teamSeconds,
      awaiting_now: 0,
    });
    // the default window: the 30 days before now
    expect(micros(res.body.to) - micros(res.body.from)).toBe(30 * 24 * 3600 * 1e6);
    expect(micros(res.body.to)).toBeGreaterThanOrEqual(micros(t2));
  });

  test('nearest-rank percentiles over a known window [from, to), one reviewer on request', async () => {
    const ds = backend.dialogs.service.dataSource!;
    await createUser(backend.dialogs.rpc, 12, { role: 'reviewer' });
    // reviewer 12: samples of 1..10 s replied inside the window, one at `to` (excluded), one before `from`
    const rows: [number, number, string, string][] = [];
    for (let s = 1; s <= 10; s++) {
      rows.push([
        12,
        0,
        `2025-03-01 10:00:00.000000`,
        `2025-03-01 10:00:${String(s).padStart(2, '0')}.000000`,
      ]);
    }
    rows.push([12, 0, '2025-03-01 23:00:00.000000', '2025-03-02 00:00:00.000000']); // at `to`
    rows.push([12, 0, '2025-02-28 23:00:00.000000', '2025-02-28 23:59:59.999999']); // before `from`
    rows.push([30, 1, '2025-03-01 12:00:00.000000', '2025-03-01 12:01:40.500000']); // team: 100.5 s
    await ds.query(
      `INSERT INTO reply_times (dialog_id, user_id, team, awaiting_since, replied_at) VALUES ${rows
        .map(() => '(1, ?, ?, ?, ?)')
        .join(', ')}`,
      rows.flat(),
    );
    const q = '?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00%2B00:00&reviewer_id=12';
    const res = await http(`${gw.url}${URL_PATH}${q}`, { auth: admin });
    expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({
      status: 200,
      body: null,
    });
    expect(res.body).toEqual({
      from: '2025-03-01T00:00:00.000000+00:00',
      to: '2025-03-02T00:00:00.000000+00:00',
      reviewers: [{ user_id: 12, count: 10, p50_s: 5, p90_s: 9, max_s: 10, awaiting_now: 0 }],
      support_team: { count: 1, p50_s: 100.5, p90_s: 100.5, max_s: 100.5, awaiting_now: 0 },
    });
  });

  test('bad input is a validation_error naming the field; the route is admin-only and documented', async () => {
    for (const [q, field] of [
      ['?from=yesterday', 'from'],
      ['?to=2025-13-01', 'to'],
      ['?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z', 'from'],
      ['?reviewer_id=abc', 'reviewer_id'],
    ] as const) {
      const res = await http(`${gw.url}${URL_PATH}${q}`, { auth: admin });
      expect({ q, status: res.status, code: res.body.code }).toEqual({
        q,
        status: 400,
        code: 'validation_error',
      });
      expect(res.body.detail).toContain(field);
    }
    expect((await http(`${gw.url}${URL_PATH}`)).status).toBe(401);
    const doc = await http(`${gw.url}/openapi.json`);
    expect(Object.keys(doc.body.paths)).toContain(URL_PATH);
  });
});
