/** Two-member dialogs with both members connected: the sender writes, the receiver gets the pushes. */
import type { BenchContext } from './context.js';
import { forEachLimited } from './pacing.js';
import { type BenchSocket, openSocket } from './socket.js';

export interface Pair {
  dialogId: number;
  senderId: number;
  receiverId: number;
  sender: BenchSocket;
  receiver: BenchSocket;
}

/** users firstId, firstId+1, … (sender, receiver alternating), one dialog per pair, sockets open */
export async function openPairs(ctx: BenchContext, firstId: number, count: number): Promise<Pair[]> {
  const ids = Array.from({ length: count * 2 }, (_, i) => firstId + i);
  await ctx.admin.upsertUsers(ids);
  const dialogIds = await ctx.admin.createDialogs(
    Array.from({ length: count }, (_, i) => [ids[2 * i]!, ids[2 * i + 1]!]),
  );
  const pairs: Pair[] = new Array(count);
  await forEachLimited(dialogIds, 8, async (dialogId, i) => {
    const senderId = ids[2 * i]!;
    const receiverId = ids[2 * i + 1]!;
    const [sender, receiver] = await Promise.all([
      openSocket(await ctx.wsUrlFor(senderId)),
      openSocket(await ctx.wsUrlFor(receiverId)),
    ]);
    pairs[i] = { dialogId, senderId, receiverId, sender, receiver };
  });
  return pairs;
}

export function closePairs(pairs: readonly Pair[]): void {
  for (const p of pairs) {
    p.sender.close();
    p.receiver.close();
  }
}
