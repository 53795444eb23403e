import { describe, expect, test } from '@jest/globals';
import { allSubjectNames, DOMAIN_EVENT_TYPES, RPC_COMMANDS, subjects } from '@parley/protocol';

describe('subjects', () => {
  test('every subject is unique and under the prefix', () => {
    const s = subjects('acme.chat');
    const names = allSubjectNames(s, RPC_COMMANDS, DOMAIN_EVENT_TYPES);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n.startsWith('acme.chat.')).toBe(true);
  });

  test('stream, bucket and durable names are valid JetStream names (no dots)', () => {
    const s = subjects('acme.chat');
    for (const n of [s.eventStream, s.presenceBucket, s.filesBucket, s.mailBucket, s.durable('mailer')]) {
      expect(n).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(new Set([s.durable('mailer'), s.durable('notifier')]).size).toBe(2);
  });

  test('different prefixes never share a subject', () => {
    const a = allSubjectNames(subjects('a'), RPC_COMMANDS, DOMAIN_EVENT_TYPES);
    const b = new Set(allSubjectNames(subjects('b'), RPC_COMMANDS, DOMAIN_EVENT_TYPES));
    expect(a.filter((x) => b.has(x))).toEqual([]);
  });

  test('a prefix with wildcards or spaces is refused', () => {
    expect(() => subjects('a.*')).toThrow();
    expect(() => subjects('a b')).toThrow();
    expect(() => subjects('')).toThrow();
  });
});
