import { connectBus, onShutdownSignals } from '@parley/bus';
import { loadConfig } from '@parley/config';
import { createLogger, installLastResort } from '@parley/logger';
import { createNotifierService } from './app.js';
import { notifierConfigSpec } from './config.js';

const { config, warnings } = loadConfig(notifierConfigSpec);
const logger = createLogger({ name: 'notifier', level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
installLastResort(logger, 'notifier');
for (const w of warnings) logger.warn(w);
const nc = await connectBus({ servers: config.NATS_URL, name: 'notifier', logger });
const app = createNotifierService({ config, nc, logger });
await app.start();
onShutdownSignals(logger, async () => {
  await app.stop();
  await nc.drain();
});
