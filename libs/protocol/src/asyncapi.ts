/**
 * The AsyncAPI 3 document of Parley, generated from this package (docs/decisions.md §2): the WebSocket
 * frames (client events, their answers, errors, pushes) and the NATS subjects (requests to `dialogs`,
 * domain events on the stream, per-user pushes). Every schema comes from a zod schema through
 * `z.toJSONSchema`; every name from the lists the services use. `docs/asyncapi.json` is this
 * document for the default prefix (`npm run docs:asyncapi`); a test keeps the two equal.
 */
import { z } from 'zod';
import {
  clientAnswerSchemas,
  dialogDtoSchema,
  pageMetaSchema,
  placeholderMessageSchema,
  pushPayloadSchemas,
} from './answer-schemas.js';
import { CLOSE_CODES } from './close-codes.js';
import { DOMAIN_EVENT_TYPES, type DomainEventType } from './domain-events.js';
import { ERROR_CATALOGUE, ERROR_CODES } from './errors.js';
import { CLIENT_EVENTS, PAGINATED_EVENTS, PUSH_EVENTS, type PushEvent } from './events.js';
import {
  fileDtoSchema,
  memberStateSchema,
  messageCreatedEventSchema,
  messageDtoSchema,
  messageSeenEventSchema,
  pushMessageSchema,
  recipientSchema,
  userDtoSchema,
} from './internal-schemas.js';
import { RESUME_SYNC_EVENT, SEQUENCED_PUSH_EVENTS } from './resume.js';
import { RPC_COMMANDS, type RpcCommand, rpcRequests } from './rpc.js';
import { clientParams, requestId } from './schemas.js';
import { subjects } from './subjects.js';

type Json = Record<string, unknown>;

/** the version of the contract this document describes (the packages' semver) */
export const PROTOCOL_VERSION = '0.1.0';

const domainEventSchemas: { [T in DomainEventType]: z.ZodType } = {
  'message.created': messageCreatedEventSchema,
  'message.seen': messageSeenEventSchema,
};

/** the objects of PROTOCOL.md §3 and the events' parts, written once under components.schemas */
const named = z.registry<{ id: string }>();
named.add(userDtoSchema, { id: 'User' });
named.add(fileDtoSchema, { id: 'File' });
named.add(messageDtoSchema, { id: 'Message' });
named.add(placeholderMessageSchema, { id: 'PlaceholderMessage' });
named.add(dialogDtoSchema, { id: 'Dialog' });
named.add(pageMetaSchema, { id: 'PageMeta' });
named.add(memberStateSchema, { id: 'MemberState' });
named.add(recipientSchema, { id: 'Recipient' });

/** named schemas met while building one document (asyncapiDocument is synchronous: reset per call) */
let components: Json = {};

/** zod → JSON Schema (draft 7, what AsyncAPI schema objects extend); transforms show their input side */
function schema(s: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const converted = z.toJSONSchema(s, { target: 'draft-7', io, unrepresentable: 'any', metadata: named });
  const {
    $schema: _drop,
    definitions,
    ...rest
  } = JSON.parse(
    JSON.stringify(converted).replaceAll('"#/definitions/', '"#/components/schemas/'),
  ) as Json & { definitions?: Json };
  Object.assign(components, definitions);
  return rest;
}

const wsSend = { type: 'string', const: 'ws_send' };
const ref = (path: string) => ({ $ref: path });
/** AsyncAPI keys allow letters, digits, `.`, `-`, `_` */
const key = (name: string) => name.replace(/[^\w.-]/g, '_');

function clientFrame(event: string, params: Json, description: string): Json {
  const properties = (params.properties ?? {}) as Json;
  const required = (params.required ?? []) as string[];
  return {
    name: event,
    title: `${event} (client → server)`,
    summary: description,
    contentType: 'application/json',
    payload: {
      type: 'object',
      properties: { event: { type: 'string', const: event }, request_id: schema(requestId), ...properties },
      required: ['event', ...required],
    },
  };
}

function answerFrame(event: string, data: Json, paginated: boolean): Json {
  const properties: Json = { type: wsSend, event: { type: 'string', const: event }, data };
  if (paginated) properties.meta = schema(pageMetaSchema);
  properties.request_id = schema(requestId);
  return {
    name: event,
    title: `${event} (answer)`,
    summary: `The direct answer to ${event}; echoes the frame's request_id.`,
    contentType: 'application/json',
    payload: { type: 'object', properties, required: ['type', 'event', 'data'] },
  };
}

function pushFrame(event: PushEvent): Json {
  const sequenced = (SEQUENCED_PUSH_EVENTS as readonly string[]).includes(event);
  const properties: Json = {
    type: wsSend,
    event: { type: 'string', const: event },
    data: schema(pushPayloadSchemas[event]),
  };
  if (sequenced) {
    properties.seq = {
      type: 'integer',
      minimum: 1,
      description:
        'grows for the user across sockets and gateways (PROTOCOL.md §8); absent on servers without §8',
    };
  }
  return {
    name: event,
    title: `${event} (push)`,
    summary: 'Sent without a request; never carries request_id.',
    contentType: 'application/json',
    payload: { type: 'object', properties, required: ['type', 'event', 'data'] },
  };
}

const errorFrameMessage: Json = {
  name: 'error',
  title: 'Error frame',
  summary: 'Answers the frame that caused it (same event, same request_id); never closes the socket.',
  description: ERROR_CODES.map(
    (c) => `- \`${c}\` (HTTP ${ERROR_CATALOGUE[c].status}): ${ERROR_CATALOGUE[c].en}`,
  ).join('\n'),
  contentType: 'application/json',
  payload: {
    type: 'object',
    properties: {
      type: wsSend,
      event: { type: 'string', description: 'the event of the frame answered; "error" when it had none' },
      exception: { type: 'boolean', const: true },
      data: { type: 'string', description: 'a human sentence (MESSAGES_LOCALE)' },
      error: {
        type: 'object',
        properties: {
          code: { type: 'string', enum: ERROR_CODES },
          message: { type: 'string' },
          field: { type: 'string' },
        },
        required: ['code', 'message'],
      },
      request_id: schema(requestId),
    },
    required: ['type', 'event', 'exception', 'data', 'error'],
  },
};

const syncAnswer: Json = {
  type: 'object',
  properties: {
    seq: { type: 'integer', minimum: 0 },
    replayed: { type: 'integer', minimum: 0 },
    resync_required: { type: 'boolean' },
  },
  required: ['seq', 'replayed'],
};

/** The AsyncAPI 3.0 document; NATS addresses under `prefix` (SUBJECT_PREFIX, default `parley`). */
export function asyncapiDocument(prefix = 'parley'): Json {
  const s = subjects(prefix);
  components = {};
  const ws: Json = {};
  const operations: Json = {};
  const wsChannel = '#/channels/websocket';

  const addClientEvent = (event: string, params: Json, data: Json, paginated: boolean, summary: string) => {
    const req = `request.${key(event)}`;
    const ans = `answer.${key(event)}`;
    ws[req] = clientFrame(event, params, summary);
    ws[ans] = answerFrame(event, data, paginated);
    operations[`ws.${key(event)}`] = {
      action: 'receive',
      channel: ref(wsChannel),
      summary,
      messages: [ref(`${wsChannel}/messages/${req}`)],
      reply: {
        channel: ref(wsChannel),
        messages: [ref(`${wsChannel}/messages/${ans}`), ref(`${wsChannel}/messages/error`)],
      },
    };
  };
  for (const event of CLIENT_EVENTS) {
    addClientEvent(
      event,
      schema(clientParams[event], 'input'),
      schema(clientAnswerSchemas[event]),
      PAGINATED_EVENTS.includes(event),
      `Client event ${event} (PROTOCOL.md §4).`,
    );
  }
  if (!(CLIENT_EVENTS as readonly string[]).includes(RESUME_SYNC_EVENT)) {
    addClientEvent(
      RESUME_SYNC_EVENT,
      {
        properties: { since: { type: 'integer', minimum: 0, description: 'the highest seq the client has' } },
        required: [],
      },
      syncAnswer,
      false,
      'Replay the pushes after `since`, then answer (PROTOCOL.md §8).',
    );
  }
  ws.error = errorFrameMessage;
  for (const event of PUSH_EVENTS) {
    ws[`push.${key(event)}`] = pushFrame(event);
    operations[`ws.push.${key(event)}`] = {
      action: 'send',
      channel: ref(wsChannel),
      summary: `Push of ${event} to every socket it concerns.`,
      messages: [ref(`${wsChannel}/messages/push.${key(event)}`)],
    };
  }

  const channels: Json = {
    websocket: {
      address: '/ws/',
      title: 'WebSocket of a user',
      description:
        'One JSON object per text frame. Authenticated at the upgrade (HTTP 401 otherwise). Close codes: ' +
        Object.entries(CLOSE_CODES)
          .map(([name, code]) => `${code} ${name}`)
          .join(', ') +
        '.',
      servers: [ref('#/servers/gateway')],
      messages: ws,
    },
  };

  // ---- NATS ----
  const rpcReply = {
    name: 'rpc.reply',
    title: 'Reply of dialogs',
    summary:
      '`{data, meta?}`; a failure is a NATS service error (Nats-Service-Error, Nats-Service-Error-Code headers).',
    contentType: 'application/json',
    payload: {
      type: 'object',
      properties: { data: {}, meta: schema(pageMetaSchema) },
      required: ['data'],
    },
  };
  channels['rpc.reply'] = {
    address: null,
    title: 'Reply inbox of a request',
    servers: [ref('#/servers/nats')],
    messages: { reply: rpcReply },
  };
  for (const command of RPC_COMMANDS) {
    const ch = `rpc.${key(command)}`;
    channels[ch] = {
      address: s.rpc(command as RpcCommand),
      title: `Request ${command}`,
      description: `Served by dialogs on the queue group ${s.queue('dialogs')}.`,
      servers: [ref('#/servers/nats')],
      messages: {
        request: {
          name: command,
          title: `${command} request`,
          contentType: 'application/json',
          payload: schema(rpcRequests[command as RpcCommand], 'input'),
        },
      },
    };
    operations[`dialogs.${ch}`] = {
      action: 'receive',
      channel: ref(`#/channels/${ch}`),
      messages: [ref(`#/channels/${ch}/messages/request`)],
      reply: {
        address: {
          location: '$message.header#/reply_to',
          description: 'the NATS reply subject of the request',
        },
        channel: ref('#/channels/rpc.reply'),
        messages: [ref('#/channels/rpc.reply/messages/reply')],
      },
    };
  }
  for (const type of DOMAIN_EVENT_TYPES) {
    const ch = `evt.${key(type)}`;
    channels[ch] = {
      address: s.event(type),
      title: `Domain event ${type}`,
      description: `On the JetStream stream ${s.eventStream}, written by dialogs through its outbox; the JetStream message id is the event id.`,
      servers: [ref('#/servers/nats')],
      messages: {
        event: {
          name: type,
          title: type,
          contentType: 'application/json',
          payload: schema(domainEventSchemas[type]),
        },
      },
    };
    operations[`dialogs.publish.${key(type)}`] = {
      action: 'send',
      channel: ref(`#/channels/${ch}`),
      messages: [ref(`#/channels/${ch}/messages/event`)],
    };
    for (const consumer of ['notifier', 'mailer'] as const) {
      operations[`${consumer}.consume.${key(type)}`] = {
        action: 'receive',
        channel: ref(`#/channels/${ch}`),
        summary:
          consumer === 'mailer'
            ? `Copies of the events that can lead to an e-mail (mailerNeeds), on ${s.mail} in the work-queue stream ${s.mailStream}; durable consumer ${s.mailDurable}.`
            : `Durable consumer ${s.durable(consumer)}.`,
        messages: [ref(`#/channels/${ch}/messages/event`)],
      };
    }
  }
  channels['push.user'] = {
    address: `${prefix}.push.user.{userId}`,
    title: "A user's pushes",
    description: 'Every gateway holding a socket of the user subscribes (no queue group).',
    servers: [ref('#/servers/nats')],
    parameters: { userId: { description: 'the user id' } },
    messages: {
      push: {
        name: 'push',
        title: 'Push message',
        contentType: 'application/json',
        payload: schema(pushMessageSchema),
      },
    },
  };
  operations['notifier.push'] = {
    action: 'send',
    channel: ref('#/channels/push.user'),
    messages: [ref('#/channels/push.user/messages/push')],
  };
  operations['gateway.push'] = {
    action: 'receive',
    channel: ref('#/channels/push.user'),
    messages: [ref('#/channels/push.user/messages/push')],
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Parley',
      version: PROTOCOL_VERSION,
      description:
        'Real-time dialogs: the WebSocket contract of PROTOCOL.md (docs/protocol.md) and the NATS subjects ' +
        `the services use among themselves (prefix \`${prefix}\`). Generated from libs/protocol.`,
      license: { name: 'MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: 'localhost:8000',
        protocol: 'ws',
        pathname: '/ws/',
        description:
          'The gateway. The JWT comes as ?token=, as `Authorization: Bearer`, or as the sub-protocol pair `bearer, <JWT>`.',
        security: [
          ref('#/components/securitySchemes/queryToken'),
          ref('#/components/securitySchemes/bearer'),
        ],
      },
      nats: {
        host: 'localhost:4222',
        protocol: 'nats',
        description: 'Internal: the services talk only over NATS (JetStream on).',
      },
    },
    channels,
    operations,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        queryToken: { type: 'httpApiKey', name: 'token', in: 'query', description: 'HS256 JWT' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
    },
  };
}
