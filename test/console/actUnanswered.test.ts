/**
 * A command the running engine took but did not answer in time may have been applied. The console
 * tells the operator exactly that, as a notice on the page they acted from: never "refused", never
 * an error page.
 */
import { describe, expect, it } from 'vitest';
import { createConsoleApp, ConsoleView, WardenMetrics } from '../../src/entries/console.js';
import { tokenDigest } from '../../src/console/operators.js';
import { MemoryJournal } from '../../src/journal/memoryJournal.js';
import { JournalError } from '../../src/index.js';

const ANA = 'ana-token-0123456789abcdef';
const TAKEN = 'the engine took the command but its answer did not come within 5000 ms: it may have applied it; check `warden kill-switch show`';

function consoleWhoseEngineTakesAndGoesQuiet() {
  const journal = new MemoryJournal();
  const view = new ConsoleView(journal);
  const app = createConsoleApp({
    view,
    metrics: new WardenMetrics(view),
    store: 'quiet.sqlite',
    token: null,
    operators: [{ name: 'ana', tokenSha256: tokenDigest(ANA) }],
    now: () => Date.parse('2026-03-02T10:00:00.000Z'),
    sessionMs: 60_000,
    act: () => Promise.reject(new JournalError('taken_unanswered', TAKEN)),
    readAdvisory: async () => null,
    subscribe: () => () => undefined,
  });
  const from = { incoming: { socket: { remoteAddress: '127.0.0.1' }, headers: { host: 'localhost:7080' } } };
  const post = (path: string, form: Record<string, string>, cookie = '') =>
    app.request(path, { method: 'POST', body: new URLSearchParams(form), headers: { origin: 'http://localhost', 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) } }, from);
  const get = (path: string, cookie: string) => app.request(path, { headers: { cookie } }, from);
  return { post, get };
}

describe('a command the engine took but did not answer', () => {
  it('is told as taken, on the page, not as a refusal or a 500', async () => {
    const { post, get } = consoleWhoseEngineTakesAndGoesQuiet();
    const login = await post('/login', { token: ANA });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await get('/kill-switch', cookie)).text())![1]!;
    const acted = await post('/kill-switch', { state: 'warning', symbol: 'EURUSD', reason: 'news', operator: '', csrf }, cookie);
    expect(acted.status).toBe(303);
    const page = await (await get('/kill-switch', cookie)).text();
    expect(page).toContain('the engine took the command but its answer did not come within 5000 ms');
    expect(page).not.toContain('refused: the engine took');
  });
});
