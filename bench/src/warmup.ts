/**
 * Before measuring: one message per pair must reach its receiver as a push (proves dialogs → outbox →
 * JetStream → notifier → gateway works end to end), then a closed-loop burst warms every process's JIT.
 */
import type { BenchContext } from './context.js';
import { closedLoop, forEachLimited } from './pacing.js';
import type { Pair } from './pairs.js';

const FIRST_PUSH_TIMEOUT_MS = 30_000;

export async function warmUp(ctx: BenchContext, pairs: Pair[], creates: number): Promise<void> {
  await everyPairGetsAPush(pairs, 'warm-up', FIRST_PUSH_TIMEOUT_MS);
  let failed = 0;
  await closedLoop(pairs.length, 20_000, creates, async (w) => {
    const p = pairs[w]!;
    const { frame } = await p.sender.request('dialogs.messages.create', {
      dialog_id: p.dialogId,
      body: 'warm',
    });
    if (frame.exception) failed++;
  });
  ctx.log(`  warm-up: every pair got its push; ${creates} creates, ${failed} failed`);
}

/**
 * One create per pair, concurrently; resolves once every receiver got its message as a push (in order
 * after whatever the notifier still had to push to that user), rejects after `timeoutMs`.
 */
export async function everyPairGetsAPush(pairs: Pair[], label: string, timeoutMs: number): Promise<void> {
  await forEachLimited(pairs, pairs.length, async (p, i) => {
    const body = `${label} ${i}`;
    const pushed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no push reached user ${p.receiverId} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      p.receiver.onPush((frame) => {
        if (frame.event === 'dialogs.messages.create' && frame.data?.markdown_body === body) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const { frame } = await p.sender.request('dialogs.messages.create', { dialog_id: p.dialogId, body });
    if (frame.exception) throw new Error(`${label} create failed: ${JSON.stringify(frame.error)}`);
    await pushed;
    p.receiver.onPush(() => undefined);
  });
}
