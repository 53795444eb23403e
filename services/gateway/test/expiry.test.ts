/** The shared token-expiry timer (pure logic on an injected clock; the 4401 close itself is in auth.test.ts). */
import { expect, test } from '@jest/globals';
import { waitFor } from '@parley/testing';
import { createExpiryScheduler, type Expiring } from '../src/ws/expiry.js';

const item = (): Expiring & { expired: number } => {
  const it = {
    expired: 0,
    expire() {
      it.expired++;
    },
  };
  return it;
};

test('an exp already passed expires at once; later ones wait for their second, removed ones never fire', async () => {
  let now = 999_999_000; // ms: exp 1_000_000 (s) is 1 s away
  const s = createExpiryScheduler(() => now);
  const past = item();
  s.add(999_998, past);
  expect(past.expired).toBe(1);

  const [a, b, later, removed] = [item(), item(), item(), item()];
  s.add(1_000_000, a); // due in 1 s of the clock: armed with a real 1 s timeout
  s.add(1_000_000, b);
  s.add(1_000_000, removed);
  s.add(1_000_060, later);
  s.remove(1_000_000, removed);
  expect(a.expired + b.expired + later.expired).toBe(0);

  now = 1_000_000_000; // the first bucket is due when its timer fires
  await waitFor(() => a.expired === 1 && b.expired === 1);
  expect(removed.expired).toBe(0);
  expect(later.expired).toBe(0);

  s.remove(1_000_060, later);
  s.stop();
  expect(later.expired).toBe(0);
});
