import { connectBus, onShutdownSignals } from '@parley/bus';
import { loadConfig } from '@parley/config';
import { createLogger, installLastResort } from '@parley/logger';
import { createMailerService } from './app.js';
import { mailerConfigSpec } from './config.js';

const { config, warnings } = loadConfig(mailerConfigSpec);
const logger = createLogger({ name: 'mailer', level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
installLastResort(logger, 'mailer');
for (const w of warnings) logger.warn(w);
// not awaited: start() serves /readyz (503) while the first connection is still being waited for
const nc = connectBus({ servers: config.NATS_URL, name: 'mailer', logger });
const app = createMailerService({ config, nc, logger });
await app.start();
logger.info('mailer started');
onShutdownSignals(logger, async () => {
  await app.stop();
  await (await nc).drain();
});
