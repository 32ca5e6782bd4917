/**
 * `verigate emulate facia|rekognition`: one provider emulator in the foreground, for local
 * development. It prints the environment that points a Verigate server at it (credentials
 * included) and stops on Ctrl-C. A port in use or a bad flag is a one-line message and exit 1/2,
 * never a stack trace.
 */
import { parseArgs } from 'node:util';
import { startFaciaEmulator } from './facia-emulator';
import { DEFAULT_CREDENTIALS, startRekognitionEmulator } from './rekognition-emulator';
import { closeLocalScorer, defaultScorerName } from './scorer';

export const EMULATE_USAGE = `usage: verigate emulate facia [--port N] [--hash-id ID]
       verigate emulate rekognition [--port N] [--region R]
  --port N      where to listen on 127.0.0.1 (default: a free port)
  --hash-id ID  the hash_id the Facia emulator accepts (default: a random one, printed)
  --region R    the region Rekognition requests must be signed for (default us-east-1)
Rekognition's emulator accepts the access key ${DEFAULT_CREDENTIALS.accessKeyId} with the secret ${DEFAULT_CREDENTIALS.secretAccessKey}.`;

export interface Running {
  close(): Promise<void>;
}

/** `verigate emulate …`: the emulator runs until SIGINT/SIGTERM (undefined), or an exit code. */
export async function runEmulator(args: string[], out: (line: string) => void, err: (line: string) => void): Promise<number | undefined> {
  const started = await startEmulator(args, out, err);
  if (typeof started === 'number') return started;
  out(`similarities from the ${await defaultScorerName()} scorer (test/fakes/scorer.ts); Ctrl-C stops it`);
  const stop = () =>
    void started
      .close()
      .then(closeLocalScorer)
      .finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return undefined;
}

/** Starts the emulator the arguments name and prints how to use it; or prints why not and returns the exit code. */
export async function startEmulator(args: string[], out: (line: string) => void, err: (line: string) => void): Promise<Running | number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { port: { type: 'string' }, 'hash-id': { type: 'string' }, region: { type: 'string' } } });
  } catch (e) {
    err(`${(e as Error).message}\n${EMULATE_USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    err(`--port must be a port number, not '${values.port}'\n${EMULATE_USAGE}`);
    return 2;
  }
  const which = positionals[0];
  if (positionals.length !== 1 || (which !== 'facia' && which !== 'rekognition')) {
    err(EMULATE_USAGE);
    return 2;
  }
  let running: Running;
  try {
    if (which === 'facia') {
      const emu = await startFaciaEmulator({ port, hashId: values['hash-id'] });
      running = emu;
      out(`facia emulator listening on ${emu.url}`);
      out(`point Verigate at it with: FACIA_URL=${emu.url} FACIA_HASH_ID=${emu.hashId}`);
    } else {
      const emu = await startRekognitionEmulator({ port, region: values.region });
      running = emu;
      const c = emu.credentials;
      out(`rekognition emulator listening on ${emu.url}`);
      out(
        `point Verigate at it with: REKOGNITION_REGION=${emu.region} AWS_ENDPOINT_URL_REKOGNITION=${emu.url} ` +
          `AWS_ACCESS_KEY_ID=${c.accessKeyId} AWS_SECRET_ACCESS_KEY=${c.secretAccessKey}`,
      );
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    err(
      code === 'EADDRINUSE'
        ? `cannot start the ${which} emulator: port ${port} on 127.0.0.1 is already in use (choose another with --port, or leave it out for a free one)`
        : `cannot start the ${which} emulator: ${(e as Error).message}`,
    );
    return 1;
  }
  return running;
}
