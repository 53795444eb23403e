/** Pushes to every socket of a user: plain core NATS on the user's subject, no queue group. */
import { type PushMessage, pushMessageSchema, type Subjects } from '@parley/protocol';
import type { NatsConnection, Subscription } from 'nats';
import { decode, encode } from './codec.js';

export function publishPush(nc: NatsConnection, s: Subjects, userId: number, msg: PushMessage): void {
  nc.publish(s.push(userId), encode(msg));
}

/** Decode and validate one push; null when it is not a well-formed PushMessage (the caller drops it). */
export function decodePush(data: Uint8Array): PushMessage | null {
  try {
    const parsed = pushMessageSchema.safeParse(decode(data));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Listen to the pushes of one user (or of every user with `'*'`): what a
 * gateway instance does; tests use it to watch what reaches the push subjects.
 */
export function subscribePushes(
  nc: NatsConnection,
  s: Subjects,
  userId: number | '*',
  onPush: (userId: number, msg: PushMessage) => void,
): Subscription {
  const subject = userId === '*' ? s.pushWildcard : s.push(userId);
  return nc.subscribe(subject, {
    callback: (err, m) => {
      if (err) return;
      const id = Number(m.subject.slice(m.subject.lastIndexOf('.') + 1));
      const msg = decodePush(m.data);
      if (msg) onPush(id, msg);
    },
  });
}
