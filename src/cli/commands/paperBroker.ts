/** `warden paper-broker`: the paper broker as a service on loopback, its book persisted across restarts. */
import { readFileSync } from 'node:fs';
import type { PaperMarket } from '../../index.js';
import { startPaperService } from '../../entries/adapters.js';
import { PaperMarketsSchema } from '../../broker/paperService.js';
import { opt, UsageError, type Args, type Command } from '../args.js';
import { DEFAULT_MARKETS } from '../brokers.js';

const HELP = `usage: warden paper-broker [--port P] [--state FILE] [--markets FILE.json] [--seed N]

Serves the paper broker on 127.0.0.1 (prints its URL), persisting its book to --state so it
survives restarts. --markets is a JSON object of symbol → { price, fillAfterMs, … }.`;

/** `warden paper-broker`, its options and its help. */
export const paperBrokerCommand: Command = {
  help: HELP,
  options: {
    port: { type: 'string', help: 'port on 127.0.0.1 (default 7070)' },
    state: { type: 'string', help: 'file to persist the book to' },
    markets: { type: 'string', help: 'JSON file of symbol → market' },
    seed: { type: 'string', help: 'random seed' },
  },
  positionals: [0, 0],
  run: paperBroker,
};

async function paperBroker(a: Args): Promise<number> {
  const port = Number(opt(a, '--port') ?? 7070);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, got ${opt(a, '--port')}`);
  const marketsFile = opt(a, '--markets');
  let markets = DEFAULT_MARKETS;
  if (marketsFile) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(marketsFile, 'utf8'));
    } catch (e) {
      throw new UsageError(`${marketsFile}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON (${(e as Error).message})`}`);
    }
    const parsed = PaperMarketsSchema.safeParse(json);
    if (!parsed.success) throw new UsageError(`${marketsFile}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
    markets = parsed.data as Record<string, PaperMarket>;
  }
  const stateFile = opt(a, '--state');
  const service = await startPaperService({ port, markets, seed: Number(opt(a, '--seed') ?? 1), ...(stateFile ? { stateFile } : {}) });
  console.log(`paper broker listening on ${service.url}${stateFile ? ` (state in ${stateFile})` : ''}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await service.close();
  return 0;
}
