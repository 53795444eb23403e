/** Start one dialogs instance: read config, connect, serve, stop cleanly on SIGTERM/SIGINT. */
import { connectBus, createPresenceView, onShutdownSignals, openPresenceBucket, retry } from '@parley/bus';
import { loadConfig } from '@parley/config';
import { createLogger, installLastResort } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { createDialogsService } from './app.js';
import { dialogsConfigSpec } from './config.js';
import { schemaMissing } from './fatal.js';

const { config, warnings } = loadConfig(dialogsConfigSpec);
const logger = createLogger({ name: 'dialogs', level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
const lastResort = installLastResort(logger, 'dialogs', { explain: schemaMissing });
for (const w of warnings) logger.warn(w);
const nc = await connectBus({ servers: config.NATS_URL, name: 'parley-dialogs', logger });
// status_online in user objects: the presence the gateways keep in NATS KV
const presence = createPresenceView(nc, subjects(config.SUBJECT_PREFIX), {
  logger,
  replicas: config.NATS_REPLICAS,
});
await retry(
  () => openPresenceBucket(nc, subjects(config.SUBJECT_PREFIX), { replicas: config.NATS_REPLICAS }),
  {
    what: 'presence bucket',
    logger,
  },
);
await presence.start();
const app = createDialogsService({ config, nc, logger, presence, onFatal: lastResort.fatal });
await app.start();
onShutdownSignals(logger, async () => {
  await app.stop();
  await presence.stop();
  await nc.drain();
});
