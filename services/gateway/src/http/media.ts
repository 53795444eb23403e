/**
 * GET /media/<path>: metadata from `dialogs` (`files.get`), bytes streamed from the object store.
 * Served with its content type and `nosniff`; anything that is not a raster image is an attachment
 * (SVG included: it can carry script).
 */
import { Readable } from 'node:stream';
import type { FileStore, RpcClient } from '@parley/bus';
import { FILE_KIND, ParleyError } from '@parley/protocol';
import { errors } from './openapi.js';
import type { HttpRoute } from './route.js';

export interface MediaDeps {
  rpc: RpcClient;
  files: () => FileStore;
}

export function mediaRoutes(deps: MediaDeps): HttpRoute[] {
  return [
    {
      method: 'GET',
      url: '/media/*',
      name: 'media',
      schema: {
        summary: 'A stored file (its storage key is the rest of the path)',
        tags: ['files'],
        params: { type: 'object', properties: { '*': { type: 'string' } } },
        response: { 200: { description: 'the bytes, with their content type' }, ...errors(404, 429, 503) },
      },
      async handle(request, reply) {
        const key = (request.params as Record<string, string>)['*'] ?? '';
        if (!key || key.length > 255) throw new ParleyError('not_found');
        const { data: file } = await deps.rpc.request(
          'files.get',
          { storage_key: key },
          { requestId: request.id },
        );
        const stored = await deps.files().get(key);
        if (!stored) throw new ParleyError('not_found');
        const inline = file.type === FILE_KIND.IMAGE && isRasterImage(file.content_type);
        reply.headers({
          'content-type': file.content_type,
          'content-length': stored.size,
          'content-disposition': `${inline ? 'inline' : 'attachment'}; ${dispositionName(file.file_name)}`,
          'content-security-policy': "default-src 'none'; sandbox",
          'cache-control': 'private, max-age=86400',
        });
        const body = Readable.fromWeb(stored.data as import('node:stream/web').ReadableStream);
        body.on('error', (err) => request.log.warn({ err_name: err.name }, 'media stream interrupted'));
        return reply.send(body);
      },
    },
  ];
}

function isRasterImage(contentType: string): boolean {
  return /^image\//.test(contentType) && !/svg/i.test(contentType);
}

/** `filename="<ascii>"; filename*=UTF-8''<encoded>` (RFC 6266) */
function dispositionName(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
