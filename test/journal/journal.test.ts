import { describe, expect, it } from 'vitest';
import { MemoryJournal, createEngine, PaperBroker } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { harness, snapshot, T0 } from '../support/fixtures.js';
import { pino } from 'pino';
import { Writable } from 'node:stream';

describe('forensic journal', () => {
  it('records every transition and every broker request and answer of an execution', async () => {
    const h = harness({ pollIntervalMs: 60_000 });
    h.fillOnAccept(50, 1.1);
    const result = await h.run(h.engine.execute(snapshot()));
    const records = await h.engine.journal.records({ advisoryId: 'adv-1' });
    const transitions = records.filter((r) => r.kind === 'transition').map((r) => `${r.from} > ${r.to}`);
    expect(transitions).toEqual([
      'validating > checkingLimits',
      'checkingLimits > claiming',
      'claiming > live.trading.submitting',
      'live.trading.submitting > live.trading.submitting', // pushed 'pending' before the submit answer
      'live.trading.submitting > live.trading.working',
      'live.trading.working > live.trading.working', // the fill is merged…
      'live.trading.working > live.assessing', // …and moves the order on
      'live.assessing > live.protecting',
      'live.protecting > reconciling',
      'reconciling > judging',
      'judging > completed',
    ]);
    // Causal order: each broker request follows the transition that started it.
    const order = records.map((r) => (r.kind === 'transition' ? `T:${r.to}` : `${r.kind}:${r.event}`));
    expect(order.indexOf('broker.request:placeProtection')).toBeGreaterThan(order.indexOf('T:live.protecting'));
    expect(order.indexOf('broker.request:getPosition')).toBeGreaterThan(order.indexOf('T:reconciling'));
    const broker = records.filter((r) => r.kind.startsWith('broker.')).map((r) => `${r.kind}:${r.event}`);
    expect(broker).toEqual([
      'broker.request:submitOrder', 'broker.response:submitOrder',
      'broker.request:placeProtection', 'broker.response:placeProtection',
      'broker.request:getOrder', 'broker.request:getPosition', 'broker.response:getOrder', 'broker.response:getPosition',
    ]);
    expect(records.every((r) => r.executionId === result.executionId && r.snapshotHash === result.snapshotHash)).toBe(true);
    expect(records.at(-1)).toMatchObject({ kind: 'result', event: 'filled' });
    // sequence order, chained
    expect(records.map((r) => r.sequence)).toEqual([...records.map((r) => r.sequence)].sort((a, b) => a - b));
    expect(await h.engine.journal.verify()).toEqual({ ok: true });
  });

  it('records the intent before the send', async () => {
    const h = harness();
    h.broker.script.submit.push({ kind: 'hang' });
    void h.engine.execute(snapshot());
    await h.clock.advance(1);
    const records = await h.engine.journal.records();
    expect(records.find((r) => r.kind === 'broker.request' && r.event === 'submitOrder')?.payload).toMatchObject({ quantity: 10, side: 'buy' });
    expect(records.some((r) => r.kind === 'broker.response')).toBe(false);
  });

  it('editing, removing or reordering any record breaks verification at that record', async () => {
    const clock = new VirtualClock(T0);
    const journal = new MemoryJournal(clock);
    const engine = createEngine({ broker: new PaperBroker({ clock, markets: { EURUSD: { price: 1.1 } } }), journal, clock, logger: pino({ level: 'silent' }) });
    await clock.run(engine.execute(snapshot()));
    expect((await journal.verify()).ok).toBe(true);
    const list = journal.unsafeRecords();
    const original = list[3]!;
    list[3] = { ...original, payload: { forged: true } };
    expect(await journal.verify()).toEqual({ ok: false, brokenAt: 4 });
    list[3] = original;
    list.splice(2, 1);
    expect((await journal.verify()).ok).toBe(false);
  });

  it('journals events no state handles instead of dropping them', async () => {
    const h = harness();
    h.fillOnAccept(50, 1.1);
    h.broker.venue.setPosition('EURUSD', 1, 1);
    await h.run(h.engine.execute(snapshot()));
    // A RESOLVE arrives while settled-and-flagged is fine; a stray one after resolution is not handled.
    h.engine.resolve('adv-1', { operator: 'o', note: 'n' });
    const records = await h.engine.journal.records({ advisoryId: 'adv-1' });
    expect(records.some((r) => r.kind === 'transition' && r.to === 'resolved')).toBe(true);
  });

  it('never writes broker credentials to the journal or the logs', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    const logger = pino({ level: 'trace', redact: { paths: ['*.apiKey', '*.secret'], censor: '[redacted]' } }, sink);
    const h = harness({ engine: { logger } });
    const canary = 'CANARY-SECRET-9f8e7d';
    const leaky = Object.assign(h.broker, { apiKey: canary, secret: canary });
    h.broker.script.submit.push({ kind: 'fail', error: Object.assign(new Error('denied'), { config: { apiKey: canary, headers: { authorization: canary } } }) });
    h.fillOnAccept(50, 1.1);
    h.broker.venue.setPosition('EURUSD', 1, 1);
    await h.run(h.engine.execute(snapshot()));
    logger.info({ broker: leaky }, 'broker configured');
    const journal = JSON.stringify(await h.engine.journal.records());
    expect(journal).not.toContain(canary);
    expect(lines.join('')).not.toContain(canary);
    expect(lines.length).toBeGreaterThan(0);
  });
});
