/** The resume bookkeeping of PROTOCOL.md §8 (pure logic; the socket side is in client.test.ts). */
import { expect, test } from '@jest/globals';
import { ResumeState } from '../src/resume.js';

test('pushes with a seq already seen are dropped; pushes without seq always pass', () => {
  const r = new ResumeState();
  expect([5, 6, 6, 4, 7].map((s) => r.accept(s))).toEqual([true, true, false, false, true]);
  expect(r.lastSeq).toBe(7);
  expect([undefined, null, 'x', 1.5].map((s) => r.accept(s))).toEqual([true, true, true, true]);
  expect(r.lastSeq).toBe(7);
});

test('sync: without since before any seq, with the highest seq after; the answer moves it forward only', () => {
  const r = new ResumeState();
  expect(r.syncFrame()).toEqual({ event: 'sync' });
  expect(r.onAnswer({ seq: 10, replayed: 0 })).toBe(false);
  expect(r.syncFrame()).toEqual({ event: 'sync', since: 10 });
  r.accept(12);
  expect(r.onAnswer({ seq: 11, replayed: 1 })).toBe(false);
  expect(r.lastSeq).toBe(12);
});

test('resync_required asks the client to reload and restarts from the latest seq', () => {
  const r = new ResumeState();
  r.accept(3);
  expect(r.onAnswer({ seq: 900, replayed: 0, resync_required: true })).toBe(true);
  expect(r.lastSeq).toBe(900);
  expect(r.accept(900)).toBe(false);
  expect(r.accept(901)).toBe(true);
});

test('a server without §8 (unknown_event) is not asked again; other errors keep sync on', () => {
  const r = new ResumeState();
  r.onError('unavailable');
  expect(r.syncFrame()).toBeDefined();
  r.onError('unknown_event');
  expect(r.syncFrame()).toBeUndefined();
});
