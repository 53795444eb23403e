/**
 * GET /media/<path>: metadata from `dialogs` (`files.get`), bytes streamed from the object store.
 * Served with its content type and `nosniff`; anything that is not a raster image is an attachment
 * (SVG included: it can carry script).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileStore, RpcClient } from '@parley/bus';
import { FILE_KIND, ParleyError } from '@parley/protocol';
import type { Route } from './router.js';

export interface MediaDeps {
  rpc: RpcClient;
  files: () => FileStore;
}

export function mediaRoutes(deps: MediaDeps): Route[] {
  return [
    {
      method: 'GET',
      path: /^\/media\/(.+)$/,
      name: 'media',
      async handle({ res, params, requestId, log }) {
        let key: string;
        try {
          key = decodeURIComponent(params[0]!);
        } catch {
          throw new ParleyError('not_found');
        }
        if (key.length > 255) throw new ParleyError('not_found');
        const { data: file } = await deps.rpc.request('files.get', { storage_key: key }, { requestId });
        const stored = await deps.files().get(key);
        if (!stored) throw new ParleyError('not_found');
        const inline = file.type === FILE_KIND.IMAGE && isRasterImage(file.content_type);
        res.writeHead(200, {
          'content-type': file.content_type,
          'content-length': stored.size,
          'x-content-type-options': 'nosniff',
          'content-disposition': `${inline ? 'inline' : 'attachment'}; ${dispositionName(file.file_name)}`,
          'content-security-policy': "default-src 'none'; sandbox",
          'cache-control': 'private, max-age=86400',
        });
        try {
          await pipeline(Readable.fromWeb(stored.data as import('node:stream/web').ReadableStream), res);
        } catch (err) {
          log.warn({ err }, 'media stream interrupted');
          res.destroy();
        }
        return undefined;
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
