/**
 * 1. Engine overhead: a full happy-path execution against an instant in-memory broker, versus a
 * hand-written baseline doing the same broker calls and rule arithmetic with no statechart and
 * no journal. Alternated round by round in one process.
 */
import { pino } from 'pino';
import { createEngine, rules, type BrokerAdapter, type FrozenSnapshot } from '../src/index.js';
import { floorRunner } from './floor.js';
import { InstantBroker } from './instantBroker.js';
import { benchSnapshot, quick, stats, type Stat } from './util.js';

/** What an execution does with no safety layer at all. */
async function baseline(broker: BrokerAdapter, s: FrozenSnapshot): Promise<number> {
  const clientOrderId = `wd-${s.hash.slice(0, 24)}`;
  const order = await broker.submitOrder({ clientOrderId, symbol: s.symbol, side: s.side, quantity: s.positionSize, type: 'market' });
  const levels = rules.protectiveLevels(s.side, order.averageFillPrice!, s.slOffsetPct, s.tpOffsetPct);
  await broker.placeProtection({ clientOrderId: `${clientOrderId}-p`, symbol: s.symbol, side: s.side, quantity: order.filledQuantity, ...levels });
  const [again, position] = await Promise.all([broker.getOrder({ clientOrderId }), broker.getPosition(s.symbol)]);
  const diff = rules.diffReconciliation(
    { symbol: s.symbol, side: s.side, positionSize: s.positionSize, protectionFailure: null, order, priorPositionQuantity: position.quantity - order.filledQuantity, protection: levels, protectedQuantity: order.filledQuantity, priceTick: null, outcomeUncertain: false },
    { order: again, position },
  );
  return rules.slippagePct(s.side, s.referencePrice, order.averageFillPrice!) + diff.mismatches.length;
}

export async function benchOverhead(): Promise<{ warden: Stat; baseline: Stat; ratio: Stat; floor: Stat; floorRatio: Stat; floorInspected: Stat; floorJournaled: Stat; rounds: number; perRound: number }> {
  const rounds = quick ? 5 : 9;
  const perRound = quick ? 500 : 2_000;
  const engine = createEngine({ broker: new InstantBroker(), logger: pino({ level: 'silent' }) });
  const direct = new InstantBroker();
  const floor = floorRunner(new InstantBroker());
  // The floor with each of two things Warden does that it does not: measured, not inferred.
  const floorInspected = floorRunner(new InstantBroker(), { inspect: true });
  const gc = (globalThis as { gc?: () => void }).gc;
  const w: number[] = [];
  const b: number[] = [];
  const f: number[] = [];
  const fi: number[] = [];
  const fj: number[] = [];
  const timeFloor = async (run: (s: FrozenSnapshot) => Promise<boolean>) => {
    const snapshots = Array.from({ length: perRound }, (_, i) => benchSnapshot(`S${i % 100}`));
    gc?.();
    const t = performance.now();
    for (const s of snapshots) if (!(await run(s))) throw new Error('floor execution did not match');
    return ((performance.now() - t) * 1000) / perRound;
  };
  for (let r = -1; r < rounds; r++) {
    // Snapshots are made outside the timed loops: the caller freezes them either way.
    const forEngine = Array.from({ length: perRound }, (_, i) => benchSnapshot(`S${i % 100}`));
    const forBaseline = Array.from({ length: perRound }, (_, i) => benchSnapshot(`S${i % 100}`));
    const forFloor = Array.from({ length: perRound }, (_, i) => benchSnapshot(`S${i % 100}`));
    gc?.();
    let t = performance.now();
    for (const s of forFloor) if (!(await floor(s))) throw new Error('floor execution did not match');
    const floorUs = ((performance.now() - t) * 1000) / perRound;
    gc?.();
    t = performance.now();
    for (const s of forBaseline) await baseline(direct, s);
    const baselineUs = ((performance.now() - t) * 1000) / perRound;
    gc?.();
    t = performance.now();
    for (const s of forEngine) {
      const result = await engine.execute(s);
      if (result.status !== 'filled' || result.requiresManualResolution) throw new Error(`bench execution ended ${result.status}`);
    }
    const wardenUs = ((performance.now() - t) * 1000) / perRound;
    const inspectedUs = await timeFloor(floorInspected);
    // A fresh journal each round: its records are garbage once the round is measured, so they do not weigh on the other rows.
    const journaledUs = await timeFloor(floorRunner(new InstantBroker(), { inspect: true, journal: 'warden' }));
    if (r < 0) continue; // warm-up round
    b.push(baselineUs);
    w.push(wardenUs);
    f.push(floorUs);
    fi.push(inspectedUs);
    fj.push(journaledUs);
    console.log(`  overhead round ${r + 1}/${rounds}: baseline ${baselineUs.toFixed(1)} µs, XState floor ${floorUs.toFixed(1)} µs, warden ${wardenUs.toFixed(1)} µs`);
  }
  await engine.close();
  return {
    warden: stats(w),
    baseline: stats(b),
    ratio: stats(w.map((x, i) => x / b[i]!)),
    floor: stats(f),
    floorRatio: stats(w.map((x, i) => x / f[i]!)),
    floorInspected: stats(fi),
    floorJournaled: stats(fj),
    rounds,
    perRound,
  };
}
