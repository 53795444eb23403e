/**
 * POST /api/files/: the multipart field `content` is streamed (busboy, inside a fastify route that
 * leaves the body unread) into the NATS object store while its first bytes are kept to sniff the
 * content type (file-type; valid UTF-8 text → text/plain; else application/octet-stream). Over
 * MAX_UPLOAD_BYTES → 413; a client that goes away mid-body ends the upload at once; either way the
 * chunks stored so far are purged. The metadata goes to `dialogs` (`files.create`) → 201 File.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { type FileStore, isBucketFull, type RpcClient } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import busboy from 'busboy';
import { fileTypeFromBuffer } from 'file-type';
import type { Authenticator } from '../auth/authenticate.js';
import { requireUser, USER_SECURITY } from './auth.js';
import { call } from './call.js';
import { errors, object } from './openapi.js';
import type { HttpRoute } from './route.js';

export interface FilesDeps {
  rpc: RpcClient;
  authenticate: Authenticator;
  files: () => FileStore;
  maxUploadBytes: number;
  /** UPLOAD_BYTES_PER_USER_PER_DAY: over it → 429 rate_limited */
  quotaBytesPerDay: number;
}

/** the window of the per-user upload quota */
const QUOTA_WINDOW_HOURS = 24;

/** bytes file-type needs to recognise every format it knows */
const SNIFF_BYTES = 4100;
/** multipart framing and small fields allowed on top of the file itself */
const MULTIPART_SLACK = 64 * 1024;

interface Stored {
  key: string;
  size: number;
  fileName: string;
  contentType: string;
}

export function filesRoutes(deps: FilesDeps): HttpRoute[] {
  return [
    {
      method: 'POST',
      url: '/api/files/',
      name: 'files.upload',
      streamBody: true,
      schema: {
        summary: 'Upload a file (multipart field `content`), streamed into the object store',
        tags: ['files'],
        security: USER_SECURITY,
        consumes: ['multipart/form-data'],
        response: { 201: object('File'), ...errors(400, 401, 413, 429, 503) },
      },
      async handle(request, reply) {
        const principal = await requireUser(deps.authenticate, request);
        const req = request.raw;
        const declared = Number(req.headers['content-length'] ?? 0);
        if (declared > deps.maxUploadBytes + MULTIPART_SLACK) {
          throw new ParleyError('payload_too_large');
        }
        // the user's allowance for the day: refused before any byte is stored when it is spent, and
        // the upload is cut (and purged) at what is left of it
        const caller = { user_id: principal.user_id, conn_id: null };
        const { data: usage } = await deps.rpc.request(
          'files.usage',
          { caller, window_hours: QUOTA_WINDOW_HOURS },
          { requestId: request.id },
        );
        const left = deps.quotaBytesPerDay - usage.bytes;
        if (left <= 0 || declared > left + MULTIPART_SLACK) throw quotaSpent();
        const limit = Math.min(deps.maxUploadBytes, left);
        const overLimit = left < deps.maxUploadBytes ? quotaSpent : tooLarge;
        const stored = await receive(req, deps, limit, overLimit);
        try {
          const { data } = await call(
            deps.rpc,
            'files.create',
            {
              caller: { user_id: principal.user_id, conn_id: null },
              params: {
                storage_key: stored.key,
                file_name: stored.fileName,
                size: stored.size,
                content_type: stored.contentType,
              },
            },
            request.id,
          );
          request.log.info(
            { file_id: data.id, size: stored.size, content_type: stored.contentType },
            'file stored',
          );
          return reply.code(201).send(data);
        } catch (err) {
          await deps
            .files()
            .delete(stored.key)
            .catch(() => undefined);
          throw err;
        }
      },
    },
  ];
}

/** Parse the multipart body; store the `content` part; resolve once the whole body is read. */
async function receive(
  req: IncomingMessage,
  deps: FilesDeps,
  limit: number,
  overLimit: () => ParleyError,
): Promise<Stored> {
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      limits: { fileSize: limit, files: 1, fields: 16, fieldSize: 4096, parts: 32 },
    });
  } catch {
    throw new ParleyError('bad_request', { message: 'expected multipart/form-data' });
  }
  let upload: Promise<Stored> | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    bb.on('close', resolve);
    bb.on('error', () => reject(new ParleyError('bad_request', { message: 'malformed multipart body' })));
    req.on('error', () => reject(interrupted()));
    // the client went away mid-body: busboy would wait for the rest forever; end the part now so
    // the store sees the error and purges the chunks it wrote
    req.on('close', () => {
      if (!req.complete) {
        reject(interrupted());
        bb.destroy(interrupted());
      }
    });
  });
  bb.on('file', (name, stream, info) => {
    if (name !== 'content' || upload) {
      stream.resume();
      return;
    }
    upload = store(stream, info.filename, deps, overLimit);
    // keep reading whatever is left of the part so the body can finish (and the 413 be sent)
    upload.catch(() => stream.resume());
  });
  req.pipe(bb);
  let bodyError: unknown;
  try {
    await finished;
  } catch (err) {
    bodyError = err;
  }
  if (!upload) throw bodyError ?? missing();
  const result = await upload.then(
    (stored) => ({ stored }),
    (error: unknown) => ({ error }),
  );
  if (bodyError !== undefined) {
    if ('stored' in result)
      await deps
        .files()
        .delete(result.stored.key)
        .catch(() => undefined);
    throw bodyError;
  }
  if ('error' in result) throw result.error;
  return result.stored;
}

const missing = () => ParleyError.invalid('content', 'required');
const tooLarge = () => new ParleyError('payload_too_large');
const quotaSpent = () => new ParleyError('rate_limited', { message: 'daily upload quota spent' });
const interrupted = () => new ParleyError('bad_request', { message: 'upload interrupted' });

async function store(
  stream: Readable,
  rawName: string | undefined,
  deps: FilesDeps,
  overLimit: () => ParleyError,
): Promise<Stored> {
  const fileName = cleanFileName(rawName);
  const key = `files/${randomBytes(16).toString('hex')}/${keySafe(fileName)}`;
  let head = Buffer.alloc(0);
  let tooLarge = false;
  stream.once('limit', () => {
    tooLarge = true;
  });
  async function* bytes(): AsyncGenerator<Uint8Array> {
    // never leave this loop early: destroying busboy's part stream would stall the whole body
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (head.length < SNIFF_BYTES)
        head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
      yield chunk;
    }
    if (tooLarge || (stream as Readable & { truncated?: boolean }).truncated) {
      throw overLimit();
    }
  }
  let size: number;
  try {
    ({ size } = await deps.files().put(key, bytes()));
  } catch (err) {
    // the bucket is at FILES_BUCKET_MAX_BYTES: nothing was kept, the client may try later
    if (isBucketFull(err)) throw new ParleyError('unavailable');
    throw err;
  }
  return { key, size, fileName, contentType: await sniff(head) };
}

export async function sniff(head: Buffer): Promise<string> {
  const detected = await fileTypeFromBuffer(head);
  if (detected) return detected.mime;
  if (head.length > 0 && !head.includes(0)) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
      return 'text/plain';
    } catch {
      // not text
    }
  }
  return 'application/octet-stream';
}

/** the last path segment, without control characters, at most 255 characters */
function cleanFileName(raw: string | undefined): string {
  const base = (raw ?? '')
    .split(/[\\/]/)
    .pop()!
    .replace(/\p{Cc}/gu, '')
    .trim();
  return (base || 'file').slice(0, 255);
}

/** a storage-key segment: ASCII letters, digits, dot, dash, underscore */
function keySafe(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_');
  return safe.slice(-100) || 'file';
}
