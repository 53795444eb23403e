import { connectBus, onShutdownSignals } from '@parley/bus';
import { loadConfig } from '@parley/config';
import { createLogger, installLastResort } from '@parley/logger';
import { createNotifierService } from './app.js';
import { notifierConfigSpec } from './config.js';

const { config, warnings } = loadConfig(notifierConfigSpec);
const logger = createLogger({ name: 'notifier', level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
installLastResort(logger, 'notifier');
for (const w of warnings) logger.warn(w);
// not awaited: start() serves /readyz (503) while the first connection is still being waited for
const nc = connectBus({ servers: config.NATS_URL, name: 'notifier', logger });
const app = createNotifierService({ config, nc, logger });
await app.start();
onShutdownSignals(logger, async () => {
  await app.stop();
  await (await nc).drain();
});
