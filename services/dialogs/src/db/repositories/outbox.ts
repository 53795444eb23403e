/** SQL of `outbox`: events are appended inside the transaction of the change they describe. */
import type { DomainEvent } from '@parley/protocol';
import type { TxSql } from '../sql.js';

/** Queued: it goes to the server with the transaction's next round trip (for a create, with `COMMIT`). */
export async function appendEvent(sql: TxSql, event: DomainEvent, now: string): Promise<void> {
  sql.write('INSERT INTO outbox (event_id, event_type, payload, date_created) VALUES (?, ?, ?, ?)', [
    event.id,
    event.type,
    JSON.stringify(event),
    now,
  ]);
}
