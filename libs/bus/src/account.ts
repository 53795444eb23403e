/**
 * Account announcements every gateway instance must act on at once: plain core NATS on one
 * subject, no queue group (each instance holds its own sockets). Not on the event stream: a
 * gateway that is down holds no sockets, and a deactivated user's next upgrade is refused anyway.
 */
import { type Subjects, userDeactivatedSchema } from '@parley/protocol';
import type { NatsConnection, Subscription } from 'nats';
import { decode, encode } from './codec.js';

export function publishUserDeactivated(nc: NatsConnection, s: Subjects, userId: number): void {
  nc.publish(s.userDeactivated, encode({ user_id: userId }));
}

/** Call `onUser` for every well-formed announcement; malformed ones are dropped. */
export function subscribeUserDeactivated(
  nc: NatsConnection,
  s: Subjects,
  onUser: (userId: number) => void,
): Subscription {
  return nc.subscribe(s.userDeactivated, {
    callback: (err, m) => {
      if (err) return;
      let parsed: ReturnType<typeof userDeactivatedSchema.safeParse>;
      try {
        parsed = userDeactivatedSchema.safeParse(decode(m.data));
      } catch {
        return;
      }
      if (parsed.success) onUser(parsed.data.user_id);
    },
  });
}
