/** Who an e-mail goes to (PROTOCOL.md §6), and the relay's test of whether the mailer needs an event. */
import { describe, expect, test } from '@jest/globals';
import { mailerNeeds, mailRecipients } from '@parley/protocol';
import { createdEvent, message, recipient, seenEvent } from '@parley/testing';
import fc from 'fast-check';

describe('mailRecipients', () => {
  test('members other than the author who are active, have an address and want e-mail, once each', () => {
    const e = createdEvent(message(1, 1, 1), {
      recipients: [
        recipient(1),
        recipient(2, { email: '  u2@example.test ' }),
        recipient(3, { email_notifications: false }),
        recipient(4, { is_active: false }),
        recipient(5, { email: ' ' }),
        recipient(2),
        recipient(6),
      ],
    });
    expect(mailRecipients(e)).toEqual([
      { user_id: 2, email: 'u2@example.test', first_name: 'First2', last_name: 'Last2' },
      { user_id: 6, email: 'u6@example.test', first_name: 'First6', last_name: 'Last6' },
    ]);
  });
});

describe('mailerNeeds', () => {
  test('a new message: exactly when someone is to be mailed (the relay and the mailer agree)', () => {
    const r = fc.record({
      id: fc.integer({ min: 1, max: 4 }),
      email: fc.constantFrom('', ' ', 'a@example.test'),
      email_notifications: fc.boolean(),
      is_active: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(r, { maxLength: 5 }), (rs) => {
        const e = createdEvent(message(1, 1, 1), {
          recipients: rs.map(({ id, ...over }) => recipient(id, over)),
        });
        expect(mailerNeeds(e)).toBe(mailRecipients(e).length > 0);
      }),
    );
  });

  test('a read: when it marked messages (a held e-mail of them is cancelled)', () => {
    const e = seenEvent(message(1, 1, 1), 2);
    expect(mailerNeeds(e)).toBe(true);
    expect(mailerNeeds({ ...e, seen_ids: [] })).toBe(false);
  });
});
