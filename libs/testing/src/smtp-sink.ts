/** An in-process SMTP server speaking the real protocol; keeps every accepted message, parsed. */
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './nats.js';
import { waitFor } from './wait-for.js';

export interface SinkMessage {
  envelope: { from: string; to: string[] };
  parsed: ParsedMail;
  raw: string;
}

export interface SmtpSink {
  port: number;
  /** smtp://user:pass@127.0.0.1:port, for SMTP_URL */
  url: string;
  messages: SinkMessage[];
  /** resolves when at least n messages arrived */
  waitForCount(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  /** stop listening (an outage); `start()` listens again on the same port */
  stop(): Promise<void>;
  start(): Promise<void>;
  /**
   * runs for each message after it is stored and before the client is told it was accepted
   * (awaited: a test can kill the sender in exactly that window)
   */
  onAccept?: ((m: SinkMessage) => unknown) | undefined;
}

export async function startSmtpSink(opts: { port?: number } = {}): Promise<SmtpSink> {
  const port = opts.port ?? (await freePort());
  const messages: SinkMessage[] = [];
  let server: SMTPServer | undefined;
  const sink: SmtpSink = {
    port,
    url: `smtp://parley:secret@127.0.0.1:${port}`,
    messages,
    waitForCount: (n, timeoutMs = 10_000) =>
      waitFor(() => (messages.length >= n ? messages : undefined), {
        timeoutMs,
        what: `${n} e-mails (got ${messages.length})`,
      }),
    async start() {
      server = new SMTPServer({
        secure: false,
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        // stop() must not wait 30 s for lingering client connections (a mailer under test keeps a pool)
        closeTimeout: 200,
        onAuth(auth, _session, cb) {
          cb(null, { user: auth.username });
        },
        onData(stream, session, cb) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            simpleParser(raw)
              .then((parsed) => {
                const m: SinkMessage = {
                  envelope: {
                    from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                    to: session.envelope.rcptTo.map((r) => r.address),
                  },
                  parsed,
                  raw,
                };
                messages.push(m);
                // the message is stored (accepted); the hook runs before the client hears "250"
                return Promise.resolve(sink.onAccept?.(m)).then(() => cb());
              })
              .catch((err: Error) => cb(err));
          });
        },
      });
      const srv = server;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, '127.0.0.1', () => {
          srv.off('error', reject);
          resolve();
        });
      });
      // a sender killed mid-session resets its connection (crash tests do that on purpose): not the sink's failure
      srv.on('error', () => undefined);
    },
    async stop() {
      const srv = server;
      server = undefined;
      if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
  await sink.start();
  return sink;
}
