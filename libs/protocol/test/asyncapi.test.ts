/**
 * The AsyncAPI document: valid for @asyncapi/parser (the reference parser and its Spectral rules), complete
 * (every client event, push event, domain event and request command of this package is in it), and the
 * same as the committed docs/asyncapi.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { describe, expect, test } from '@jest/globals';
import {
  asyncapiDocument,
  CLIENT_EVENTS,
  DOMAIN_EVENT_TYPES,
  ERROR_CODES,
  PUSH_EVENTS,
  RPC_COMMANDS,
  subjects,
} from '@parley/protocol';

const docsDir = join(import.meta.dirname, '..', '..', '..', 'docs');
const doc = asyncapiDocument();
// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
const json = doc as any;

/** names of the messages the websocket channel has under `prefix.` keys */
function wsMessageNames(kind: 'request' | 'answer' | 'push'): string[] {
  return Object.entries(json.channels.websocket.messages)
    .filter(([k]) => k.startsWith(`${kind}.`))
    .map(([, m]) => (m as { name: string }).name);
}

describe('AsyncAPI document', () => {
  test('the reference parser accepts it without an error, and sees its channels and operations', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    const errors = diagnostics
      .filter((d) => d.severity === 0)
      .map((d) => `${d.path.join('/')}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
    const addresses = document!
      .channels()
      .all()
      .map((c) => c.address());
    expect(addresses).toContain('/ws/');
    expect(addresses).toContain('parley.evt.message.created');
    expect(document!.operations().all().length).toBe(Object.keys(json.operations).length);
  }, 30_000);

  test('every client event has a frame, an answer and a receive operation that replies with it or an error', () => {
    for (const event of CLIENT_EVENTS) {
      expect(wsMessageNames('request')).toContain(event);
      expect(wsMessageNames('answer')).toContain(event);
      const op = json.operations[`ws.${event}`];
      expect(op).toMatchObject({ action: 'receive' });
      expect(op.reply.messages.map((m: { $ref: string }) => m.$ref)).toEqual([
        `#/channels/websocket/messages/answer.${event}`,
        '#/channels/websocket/messages/error',
      ]);
    }
    // PROTOCOL.md §8's sync is described too
    expect(wsMessageNames('request')).toContain('sync');
  });

  test('every push event has a frame and a send operation; only §8 frames carry seq', () => {
    for (const event of PUSH_EVENTS) {
      expect(wsMessageNames('push')).toContain(event);
      expect(json.operations[`ws.push.${event}`]).toMatchObject({ action: 'send' });
      const props = json.channels.websocket.messages[`push.${event}`].payload.properties;
      expect('seq' in props).toBe(event !== 'users.status.online');
    }
  });

  test('every error code is in the error frame', () => {
    expect(json.channels.websocket.messages.error.payload.properties.error.properties.code.enum).toEqual(
      ERROR_CODES,
    );
  });

  test('every domain event and request command is a NATS channel at its subject', () => {
    const s = subjects('parley');
    const byAddress = new Map(
      Object.values(json.channels).map((c) => [
        (c as { address: string }).address,
        c as { messages: object },
      ]),
    );
    for (const type of DOMAIN_EVENT_TYPES) {
      const channel = byAddress.get(s.event(type)) as {
        messages: { event: { name: string; payload: object } };
      };
      expect(channel.messages.event.name).toBe(type);
      expect(JSON.stringify(channel.messages.event.payload)).toContain(`"const":"${type}"`);
    }
    for (const command of RPC_COMMANDS) expect(byAddress.has(s.rpc(command))).toBe(true);
    expect(byAddress.has('parley.push.user.{userId}')).toBe(true);
  });

  test('shared objects are written once and referenced', () => {
    const create = json.channels.websocket.messages['answer.dialogs.messages.create'];
    expect(create.payload.properties.data).toEqual({ $ref: '#/components/schemas/Message' });
    expect(Object.keys(json.components.schemas)).toEqual(
      expect.arrayContaining(['Dialog', 'Message', 'User']),
    );
    // no reference points nowhere
    for (const m of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)) {
      expect(json.components.schemas).toHaveProperty([m[1]!]);
    }
  });

  test('the NATS addresses follow the prefix', () => {
    // biome-ignore lint/suspicious/noExplicitAny: plain JSON
    const other = asyncapiDocument('acme.chat') as any;
    expect(other.channels['evt.message.created'].address).toBe('acme.chat.evt.message.created');
    expect(other.channels['rpc.dialogs.load'].address).toBe('acme.chat.rpc.dialogs.load');
  });

  test('docs/asyncapi.json is the generated document (npm run docs:asyncapi), linked from docs/protocol.md', () => {
    const committed = JSON.parse(readFileSync(join(docsDir, 'asyncapi.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(readFileSync(join(docsDir, 'protocol.md'), 'utf8')).toContain('(asyncapi.json)');
  });
});
