/** The protocol document in the repo and libs/protocol must agree (STYLE.md habit 12). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import {
  CLIENT_EVENTS,
  CLOSE_CODES,
  ERROR_CATALOGUE,
  ERROR_CODES,
  FEED_EVENTS,
  GATEWAY_EVENTS,
  humanMessage,
  ParleyError,
  PUSH_EVENTS,
  RPC_COMMANDS,
  rpcRequests,
} from '@parley/protocol';

const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../docs/protocol.md'), 'utf8');
const section = (n: number) => doc.split(/^## /m).find((s) => s.startsWith(`${n}.`)) ?? '';

describe('docs/protocol.md ↔ libs/protocol', () => {
  test('every event of §4 is a client event, and nothing else is', () => {
    const listed = [...section(4).matchAll(/^\d+\. `([a-z.]+)/gm)].map((m) => m[1]);
    expect(listed.length).toBe(9);
    expect([...listed].sort()).toEqual([...CLIENT_EVENTS].sort());
  });

  test('every client event is served by an RPC command of the same name', () => {
    for (const e of CLIENT_EVENTS) expect(RPC_COMMANDS).toContain(e);
  });

  test('every error code of §2 is in the catalogue with a sentence in both languages', () => {
    const para = section(2).slice(section(2).indexOf('`error.code` is one of'));
    const codes = [...para.slice(0, para.indexOf('Protocol abuse')).matchAll(/`([a-z_]+)`/g)]
      .map((m) => m[1] as string)
      .filter((c) => c !== 'error' && c !== 'event' && c !== 'field');
    expect(codes.length).toBeGreaterThanOrEqual(8);
    for (const c of codes) {
      expect(ERROR_CODES).toContain(c);
      const entry = ERROR_CATALOGUE[c as keyof typeof ERROR_CATALOGUE];
      expect(entry.ru.length).toBeGreaterThan(0);
      expect(entry.en.length).toBeGreaterThan(0);
    }
  });

  test('the close-code table of §2 lists exactly the declared close codes', () => {
    const listed = [...section(2).matchAll(/^\| (\d{4}) \|/gm)].map((m) => Number(m[1]));
    expect([...listed].sort()).toEqual((Object.values(CLOSE_CODES) as number[]).sort());
  });

  test('every close code the document names elsewhere is declared', () => {
    const named = [...doc.matchAll(/\b(1\d{3}|4\d{3})\b(?![.:])/g)]
      .map((m) => Number(m[1]))
      .filter((n) => n !== 4222); // the NATS port of §7
    const declared = Object.values(CLOSE_CODES) as number[];
    for (const c of new Set(named)) expect(declared).toContain(c);
  });

  test('pushes are the events §4 says are pushed', () => {
    expect([...PUSH_EVENTS].sort()).toEqual(
      [
        'dialogs.messages.create',
        'dialogs.messages.seen',
        'notifications.dialogs.count',
        'notifications.dialogs.messages.count',
        'users.status.online',
        'notifications.dialogs.awaiting.count',
      ].sort(),
    );
  });

  test('§8: the events the gateway answers itself are the ones it names, and pushes with seq are the feed events', () => {
    const named = [...section(8).matchAll(/\{"event": "([a-z.]+)"/g)].map((m) => m[1]);
    expect([...new Set(named)].sort()).toEqual([...GATEWAY_EVENTS].sort());
    for (const e of GATEWAY_EVENTS) expect(CLIENT_EVENTS as readonly string[]).not.toContain(e);
    const withSeq = section(8).slice(0, section(8).indexOf('carries `seq`'));
    const listed = [...withSeq.matchAll(/`([a-z.]+)`/g)].map((m) => m[1]);
    expect([...listed].sort()).toEqual([...FEED_EVENTS].sort());
  });

  test('an internal request map entry exists for every command', () => {
    for (const c of RPC_COMMANDS) expect(rpcRequests[c]).toBeDefined();
  });
});

describe('error catalogue', () => {
  test('statuses are HTTP statuses; retryable only for transient codes', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(600);
      expect(e.retryable).toBe(['rate_limited', 'unavailable', 'internal'].includes(code));
    }
  });

  test('the seed sentence for a missing field', () => {
    const err = ParleyError.invalid('dialog_id', 'required');
    expect(err.message).toBe('dialog_id is required');
    expect(humanMessage(err, 'ru')).toBe('Не указан `dialog_id`');
    expect(humanMessage(err, 'en')).toBe('dialog_id is required');
  });

  test('an unknown code from the wire becomes internal and keeps no foreign text', () => {
    const err = ParleyError.fromBody({ code: 'nope' as never, message: 'SELECT * FROM secrets' });
    expect(err.code).toBe('internal');
    expect(err.message).toBe('Internal error');
  });
});
