/** Start one dialogs instance: read config, connect, serve, stop cleanly on SIGTERM/SIGINT. */
import { connectBus, onShutdownSignals } from '@parley/bus';
import { loadConfig } from '@parley/config';
import { createLogger, installLastResort } from '@parley/logger';
import { createDialogsService } from './app.js';
import { dialogsConfigSpec } from './config.js';
import { schemaMissing } from './fatal.js';

const { config, warnings } = loadConfig(dialogsConfigSpec);
const logger = createLogger({ name: 'dialogs', level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
const lastResort = installLastResort(logger, 'dialogs', { explain: schemaMissing });
for (const w of warnings) logger.warn(w);
// not awaited: start() serves /readyz (503) while the first connection is still being waited for
const nc = connectBus({ servers: config.NATS_URL, name: 'parley-dialogs', logger });
// status_online in user objects: the presence the gateways keep in NATS KV
const app = createDialogsService({ config, nc, logger, presence: 'bucket', onFatal: lastResort.fatal });
await app.start();
onShutdownSignals(logger, async () => {
  await app.stop();
  await (await nc).drain();
});
