/**
 * Replicas of the streams behind Parley's streams, KV buckets and object stores (`NATS_REPLICAS`).
 * A stream is created with the configured count; an existing one with fewer replicas is raised
 * (nats-server 2.9 updates `num_replicas` of a stream in a cluster in place: new peers catch up
 * from the leader, durable consumers follow the stream). Never lowered: during a rolling upgrade an
 * instance still configured with 1 must not undo what an upgraded one did (docs/decisions.md).
 */
import type { JetStreamManager } from 'nats';

/** Bring `stream` to at least `replicas`; true when it changed something. */
export async function raiseReplicas(
  jsm: JetStreamManager,
  stream: string,
  replicas: number,
): Promise<boolean> {
  if (replicas <= 1) return false;
  const info = await jsm.streams.info(stream);
  if ((info.config.num_replicas ?? 1) >= replicas) return false;
  await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
  return true;
}

/** the stream a KV bucket lives in */
export const kvStreamName = (bucket: string) => `KV_${bucket}`;
/** the stream an object store lives in */
export const objectStreamName = (bucket: string) => `OBJ_${bucket}`;
