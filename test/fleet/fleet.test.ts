/**
 * Many engines, one PostgreSQL: real engine processes over a real embedded PostgreSQL and one
 * paper broker service, all on loopback. Exactly one order per advisory however many engines race
 * for it; a kill switch set on one engine reaches every engine's working orders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderReport } from '../../src/index.js';
import { startPaperService, type PaperService } from '../../src/entries/adapters.js';
import { useDatabase } from '../store/support/database.js';
import { freshSnapshots, startEngineProcess, type EngineProcess, type Results } from './support/fleet.js';

const db = useDatabase();
const ENGINES = 3;
const ADVISORIES = 150;

let service: PaperService;
let engines: EngineProcess[] = [];
/** Every submit and cancel request the venue received: who sent it is irrelevant, how many matters. */
const submits = new Map<string, number>();
const cancels: { clientOrderId: string; at: number }[] = [];

beforeAll(async () => {
  service = await startPaperService({ port: 0, seed: 3, latencyMs: [1, 3], markets: { EURUSD: { price: 1.1, fillAfterMs: 30 }, GBPUSD: { price: 1.27, noLiquidity: true } } });
  const broker = service.broker;
  const submit = broker.submitOrder.bind(broker);
  broker.submitOrder = (req) => {
    submits.set(req.clientOrderId, (submits.get(req.clientOrderId) ?? 0) + 1);
    return submit(req);
  };
  const cancel = broker.cancelOrder.bind(broker);
  broker.cancelOrder = (ref) => {
    cancels.push({ clientOrderId: ref.clientOrderId, at: Date.now() });
    return cancel(ref);
  };
  engines = Array.from({ length: ENGINES }, (_, i) => startEngineProcess(db.server().url, service.url, `engine-${i + 1}`));
  await Promise.all(engines.map((e) => e.next('ready')));
}, 60_000);

afterAll(async () => {
  for (const e of engines) {
    e.send({ cmd: 'close' });
    await e.next('closed').catch(() => e.kill());
  }
  await service?.close();
}, 60_000);

describe('a fleet of engine processes on one PostgreSQL', () => {
  it(`${ENGINES} engines racing the same ${ADVISORIES} advisories: exactly one execution and one order each, the rest refused as duplicates`, async () => {
    const ids = Array.from({ length: ADVISORIES }, (_, i) => `race-${i}`);
    const snapshots = freshSnapshots(ids);
    for (const e of engines) e.send({ cmd: 'execute', snapshots });
    const all = (await Promise.all(engines.map((e) => e.next<Results>('results')))).flatMap((r) => r.results);
    expect(all).toHaveLength(ENGINES * ADVISORIES);
    for (const id of ids) {
      const mine = all.filter((r) => r.advisoryId === id);
      const ran = mine.filter((r) => r.status !== 'rejected');
      expect(ran.map((r) => r.status), id).toEqual(['filled']);
      expect(mine.filter((r) => r.status === 'rejected').map((r) => r.error?.code)).toEqual(Array(ENGINES - 1).fill('duplicate_advisory'));
      // One engine sent it, once: the other engines never reached the broker.
      expect(submits.get(ran[0]!.clientOrderId!), id).toBe(1);
    }
    const winners = new Set(all.filter((r) => r.status === 'filled').map((r) => r.executionId));
    expect(winners.size).toBe(ADVISORIES);
    // The store's journal holds every engine's records and verifies as a whole.
    const store = await db.open({ writer: 'checker' });
    expect((await store.verify()).ok).toBe(true);
    const claims = (await store.records()).filter((r) => r.kind === 'claim');
    expect(new Set(claims.map((c) => c.advisoryId)).size).toBe(ADVISORIES);
    expect(claims).toHaveLength(ADVISORIES);
  }, 90_000);

  it('a kill switch set on one engine cancels the working orders of every engine', async () => {
    const perEngine = 4;
    for (const [i, e] of engines.entries()) e.send({ cmd: 'execute', snapshots: freshSnapshots(Array.from({ length: perEngine }, (_, k) => `halt-${i}-${k}`), 'GBPUSD') });
    // Every order is working at the venue (nothing fills on GBPUSD).
    const working = () => [...Array(ENGINES * perEngine).keys()].length <= [...submits.keys()].filter((id) => service.broker.venue.get(id)?.status === 'pending').length;
    for (let i = 0; i < 300 && !working(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(working()).toBe(true);
    const before = cancels.length;
    engines[0]!.send({ cmd: 'killSwitch', state: 'active', reason: 'fleet test' });
    const { at } = await engines[0]!.next<{ at: number }>('killSwitchSet');
    const all = (await Promise.all(engines.map((e) => e.next<Results>('results')))).flatMap((r) => r.results);
    expect(all).toHaveLength(ENGINES * perEngine);
    for (const r of all) expect(r, r.advisoryId ?? '').toMatchObject({ status: 'cancelled', killSwitch: { state: 'active', phase: 'during' } });
    for (const r of all) expect((service.broker.venue.get(r.clientOrderId!) as OrderReport).status).toBe('cancelled');
    const latencies = cancels.slice(before).map((c) => c.at - at).sort((a, b) => a - b);
    console.log(`fleet kill switch → cancel requested at the venue, ${latencies.length} orders on ${ENGINES} engines: p50 ${latencies[Math.floor(latencies.length / 2)]} ms, max ${latencies.at(-1)} ms`);
  }, 60_000);
});
