import { describe, expect, test } from '@jest/globals';
import { domainEventSchema, pushMessageSchema } from '@parley/protocol';
import { createdEvent, member, message, recipient, seenEvent } from '@parley/testing';

describe('internal message schemas', () => {
  test('events shaped as dialogs writes them pass; a wrong field type does not', () => {
    const created = createdEvent(message(1, 2, 3), {
      members: [member(3, 0, 0, false)],
      recipients: [recipient(4)],
    });
    expect(domainEventSchema.safeParse(created).success).toBe(true);
    expect(domainEventSchema.safeParse(seenEvent(message(1, 2, 3), 4)).success).toBe(true);
    expect(domainEventSchema.safeParse({ ...created, members: [{ user_id: '3' }] }).success).toBe(false);
    expect(domainEventSchema.safeParse({ ...created, type: 'message.deleted' }).success).toBe(false);
  });

  test('a push carries known events with their payloads only', () => {
    expect(
      pushMessageSchema.safeParse({
        items: [
          { event: 'dialogs.messages.create', data: message(1, 2, 3) },
          { event: 'notifications.dialogs.count', data: 1 },
          { event: 'notifications.dialogs.messages.count', data: { count: 1, dialog_id: 2 } },
        ],
        origin_conn: 'c1',
        skip_origin: [0],
      }).success,
    ).toBe(true);
    expect(pushMessageSchema.safeParse({ items: [{ event: 'dialogs.drop', data: 1 }] }).success).toBe(false);
    expect(
      pushMessageSchema.safeParse({ items: [{ event: 'notifications.dialogs.count', data: '<script>' }] })
        .success,
    ).toBe(false);
  });
});
