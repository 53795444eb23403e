/** Pushes to every socket of a user: plain core NATS on the user's subject, no queue group. */
import type { PushMessage, Subjects } from '@parley/protocol';
import type { NatsConnection } from 'nats';
import { encode } from './codec.js';

export function publishPush(nc: NatsConnection, s: Subjects, userId: number, msg: PushMessage): void {
  nc.publish(s.push(userId), encode(msg));
}
