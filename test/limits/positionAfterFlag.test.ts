/**
 * maxPosition counts "what the venue reported beyond Warden's own fills at the last
 * reconciliation". A reconciliation whose position answer lags (venue shows 0 right after a fill)
 * is flagged `missing_position`; the operator checks the venue (the position is there) and
 * resolves. The limit book keeps the stale answer as -10 "outside" Warden, so the next order is
 * admitted against a net of 0 and the position reaches twice maxPosition. So a flagged answer
 * makes the book ask the venue again before it next counts the position, and if the venue cannot
 * say, the suspect answer may not lower the exposure the order adds to.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

describe('maxPosition after a flagged reconciliation: the venue is asked again', () => {
  it('the next order that would double the position is refused (limit_position)', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 100));
    const engine = createEngine({ broker, clock, logger: silentLogger(), limits: { symbols: { '*': { maxPosition: 10 } } } });
    broker.script.position.push({ kind: 'report', report: { symbol: 'EURUSD', quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null } });
    const a = await clock.run(engine.execute(snapshot({ advisoryId: 'adv-a', positionSize: 10 })));
    expect(a.filledQuantity).toBe(10);
    expect(a.reconciliation?.status).toBe('missing_position');
    expect(broker.venue.position('EURUSD').quantity).toBe(10); // the venue does hold it
    engine.resolve('adv-a', { operator: 'carol', note: 'position is there at the venue (10 @ 1.1), the first answer lagged' });
    const b = await clock.run(engine.execute(snapshot({ advisoryId: 'adv-b', positionSize: 10 })));
    const held = broker.venue.position('EURUSD').quantity;
    await engine.close();
    expect({ status: b.status, code: b.error?.code, venuePosition: held }).toEqual({ status: 'rejected', code: 'limit_position', venuePosition: 10 });
  });

  it('the venue cannot say again: the worse of its suspect answer and Warden\'s own fills counts', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 100));
    const engine = createEngine({ broker, clock, logger: silentLogger(), limits: { symbols: { '*': { maxPosition: 10 } } } });
    broker.script.position.push({ kind: 'report', report: { symbol: 'EURUSD', quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null } }, { kind: 'fail', error: new Error('connection reset') });
    const a = await clock.run(engine.execute(snapshot({ advisoryId: 'adv-a', positionSize: 10 })));
    expect(a.reconciliation?.status).toBe('missing_position');
    engine.resolve('adv-a', { operator: 'carol', note: 'checked at the venue' });
    const b = await clock.run(engine.execute(snapshot({ advisoryId: 'adv-b', positionSize: 10 })));
    await engine.close();
    expect({ status: b.status, code: b.error?.code }).toEqual({ status: 'rejected', code: 'limit_position' });
    expect(broker.venue.position('EURUSD').quantity).toBe(10);
  });
});
