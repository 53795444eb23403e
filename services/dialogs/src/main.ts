/** Start one dialogs instance: read config, connect, serve, stop cleanly on SIGTERM/SIGINT. */
import { connectBus, onShutdownSignals } from '@parley/bus';
import { loadConfig } from '@parley/config';
import { createLogger } from '@parley/logger';
import { createDialogsService } from './app.js';
import { dialogsConfigSpec } from './config.js';

const { config, warnings } = loadConfig(dialogsConfigSpec);
const logger = createLogger({ name: 'dialogs', level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
for (const w of warnings) logger.warn(w);
const nc = await connectBus({ servers: config.NATS_URL, name: 'parley-dialogs', logger });
const app = createDialogsService({ config, nc, logger });
await app.start();
onShutdownSignals(logger, async () => {
  await app.stop();
  await nc.drain();
});
