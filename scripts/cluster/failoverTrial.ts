/**
 * One failover trial on a running cluster: an advisory goes to one engine, which is SIGKILLed at a
 * chosen point of its execution; another engine must take it over once its lease expires and
 * finish it. Returns every problem found (empty when all is well) and the timings. Shared by
 * test/fleet/failover.test.ts and `npm run soak:cluster`.
 */
import { clientOrderIdFor, JournalError, JournalKind, type ExecutionResult, type FrozenSnapshot } from '../../src/index.js';
import { PostgresStore, type StoredRecord } from '../../src/entries/postgres.js';
import { clusterSnapshot, type Cluster } from './cluster.js';

/** Where the victim dies: once its claim is stored, once its order works at the broker, or once it filled. */
export const KILL_POINTS = ['claimed', 'working', 'filled'] as const;
export type KillPoint = (typeof KILL_POINTS)[number];

/** A failover symbol's market: its order fills this long after the broker accepts it, well after a takeover. */
export const FAILOVER_FILL_AFTER_MS = 2_000;
export const FAILOVER_PRICE = 1.1;
/** Markets for `count` failover trials, one symbol each (reconciliation per symbol stays exact). */
export const failoverMarkets = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`F${i}`, { price: FAILOVER_PRICE, fillAfterMs: FAILOVER_FILL_AFTER_MS, slippageBps: 0 }]));

/** How often the harness looks for the kill point (ms). */
const WATCH_MS = 5;
/** Bound on reaching the kill point (ms). */
const KILL_POINT_TIMEOUT_MS = 10_000;

export interface FailoverOutcome {
  readonly problems: string[];
  readonly snapshot: FrozenSnapshot;
  readonly killPoint: KillPoint;
  readonly victim: string;
  readonly survivor: string | null;
  /** The victim finished before the kill landed: nothing to take over. */
  readonly finishedBeforeKill: boolean;
  /**
   * The victim died after the store's claim and before its journal held the claim record: nothing
   * was sent, so the engine that takes the lease over closes it as refused and never sends it.
   */
  readonly closedUnsent: boolean;
  /** From the SIGKILL to another engine's takeover, and to its result (ms). */
  readonly takeoverMs: number | null;
  readonly finishMs: number | null;
  readonly status: ExecutionResult['status'] | null;
  /** Writes of the dead engine refused after the takeover (a lease renewal, a journal write). */
  readonly fencedRefusals: number;
  readonly records: number;
  /** Orders at the broker for the advisory's symbol (1 when all is well). */
  readonly orders: number;
  /** Result records of the execution in the store (1 when all is well; 0 means its end was lost). */
  readonly resultRecords: number;
  /** A fill neither protected nor flagged. */
  readonly unprotectedFill: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > KILL_POINT_TIMEOUT_MS) throw new Error(`${what} did not happen within ${KILL_POINT_TIMEOUT_MS} ms`);
    await sleep(WATCH_MS);
  }
}

/** The dead engine comes back under its own writer id: its renewal and its journal write must be refused. */
async function lateWrites(cluster: Cluster, victim: string, executionId: string, advisoryId: string, leaseLive: boolean): Promise<{ refused: number; problems: string[] }> {
  const problems: string[] = [];
  let refused = 0;
  let ghost: PostgresStore;
  try {
    ghost = await PostgresStore.connect(cluster.db.url, { writer: victim });
  } catch (e) {
    return { refused, problems: [`the dead engine's writer id could not reconnect: ${(e as Error).message}`] };
  }
  try {
    const renewal = await ghost.renewLease(executionId, victim, 1, cluster.leaseTtlMs).then(() => null, (e: unknown) => e);
    if ((renewal as { code?: string } | null)?.code === 'lease_lost') refused++;
    else problems.push('the dead engine renewed its lease after the takeover');
    if (leaseLive) {
      ghost.append({ kind: JournalKind.Transition, executionId, advisoryId, snapshotHash: null, to: 'late write of the dead engine' });
      const write = await ghost.flush().then(() => null, (e: unknown) => e);
      if (write instanceof JournalError && write.code === 'fenced') refused++;
      else problems.push('a journal write of the dead engine was accepted while another engine held the lease');
    }
  } finally {
    await ghost.close();
  }
  return { refused, problems };
}

export async function failoverTrial(cluster: Cluster, observer: PostgresStore, trial: number, killPoint: KillPoint, runId: string): Promise<FailoverOutcome> {
  const problems: string[] = [];
  const alive = cluster.engines.filter((e) => e.alive());
  const victim = alive[trial % alive.length]!;
  const symbol = `F${trial}`;
  const snapshot = clusterSnapshot(`failover-${runId}-${trial}`, symbol, FAILOVER_PRICE, trial % 2 ? 'sell' : 'buy');
  const clientOrderId = clientOrderIdFor(snapshot);
  const venueOrder = () => cluster.paper.broker.venue.snapshot().orders.find((o) => o.clientOrderId === clientOrderId);
  const from = cluster.events.length;

  victim.send({ op: 'execute', snapshot });
  if (killPoint === 'claimed') await until(async () => (await observer.claimed(snapshot.advisoryId)) !== null, 'the claim');
  else if (killPoint === 'working') await until(() => venueOrder() !== undefined, 'the order at the broker');
  else await until(() => (venueOrder()?.filledQuantity ?? 0) > 0, 'the fill');
  const killedAt = Date.now();
  victim.kill('SIGKILL');
  // Keep the cluster at full strength for the next trial.
  const replacement = cluster.spawnEngine(`${victim.name.split('.')[0]}.r${trial}`);

  const finishedBeforeKill = cluster.events.slice(from).some((e) => e.type === 'result' && e.engine === victim.name && e.result.advisoryId === snapshot.advisoryId);
  let takeoverMs: number | null = null;
  let finishMs: number | null = null;
  let survivor: string | null = null;
  let status: ExecutionResult['status'] | null = null;
  let fencedRefusals = 0;
  const claim = await observer.claimed(snapshot.advisoryId);
  if (!claim) problems.push('no claim stored');
  // What the dead engine's journal holds once its connection is gone (a commit in flight lands or not).
  await new Promise((r) => setTimeout(r, 200));
  const closedUnsent = claim !== null && !finishedBeforeKill && !(await observer.records({ executionId: claim.executionId })).some((r) => r.kind === JournalKind.Claim);
  if (closedUnsent && claim) {
    // Nobody resumes it: the engine that takes the lease over writes its refusal and releases it.
    await until(async () => (await observer.records({ executionId: claim.executionId })).some((r) => r.kind === JournalKind.Result), 'the refusal').catch(() => problems.push('no refusal written for a claim that never reached the journal'));
  } else if (!finishedBeforeKill && claim) {
    const deadline = cluster.leaseTtlMs * 3 + 10_000;
    try {
      const takeover = await cluster.waitFor((e) => (e.type === 'takeover' && e.advisoryId === snapshot.advisoryId ? e : undefined), deadline, from);
      takeoverMs = takeover.at - killedAt;
      survivor = takeover.engine;
      if (takeover.from !== victim.name) problems.push(`taken over from ${takeover.from}, not from ${victim.name}`);
      const lease = await observer.lease(claim.executionId);
      const late = await lateWrites(cluster, victim.name, claim.executionId, snapshot.advisoryId, lease !== null && !lease.released && killPoint !== 'filled');
      fencedRefusals = late.refused;
      problems.push(...late.problems);
      const done = await cluster.waitFor((e) => (e.type === 'result' && e.result.advisoryId === snapshot.advisoryId ? e : undefined), deadline, from);
      finishMs = done.at - killedAt;
      status = done.result.status;
      if (done.takenOverFrom !== victim.name) problems.push(`the result does not say it was taken over from ${victim.name}`);
    } catch (e) {
      problems.push(`no takeover or result: ${(e as Error).message}`);
    }
  }
  await replacement;

  // What the broker holds: one order for the advisory, never above its size, and nothing else on its symbol.
  const orders = cluster.paper.broker.venue.snapshot().orders.filter((o) => o.symbol === symbol);
  if (orders.length !== (closedUnsent ? 0 : 1)) problems.push(`${orders.length} orders at the broker for ${symbol}`);
  if (orders.some((o) => o.clientOrderId !== clientOrderId)) problems.push('an order at the broker belongs to no advisory');
  if (orders.reduce((q, o) => q + o.quantity, 0) > snapshot.positionSize) problems.push('more ordered than positionSize');

  // What the store holds: one result, written by whoever finished; the dead engine wrote nothing after the takeover.
  const records: StoredRecord[] = claim ? await observer.records({ executionId: claim.executionId }) : [];
  const results = records.filter((r) => r.kind === JournalKind.Result);
  if (results.length !== 1) problems.push(`${results.length} result records`);
  const result = results[0]?.payload as ExecutionResult | undefined;
  if (closedUnsent && result && (result.status !== 'rejected' || result.error?.code !== 'journal_unavailable')) problems.push(`a claim that never reached the journal ended ${result.status}, not rejected unsent`);
  const filled = orders[0]?.filledQuantity ?? 0;
  const unprotectedFill = filled > 0 && !(result?.protectionPlaced || result?.requiresManualResolution);
  if (unprotectedFill) problems.push(`${filled} filled, neither protected nor flagged`);
  if (result) {
    if (Math.abs(filled - result.filledQuantity) > 1e-9 && !result.requiresManualResolution) problems.push(`the broker filled ${filled}, the result says ${result.filledQuantity}, not flagged`);
  }
  const takeOver = records.find((r) => r.kind === JournalKind.Recovery && r.event === 'TAKE_OVER');
  if (survivor && !takeOver) problems.push('no TAKE_OVER record');
  if (takeOver) {
    if (takeOver.writer !== survivor) problems.push(`TAKE_OVER written by ${takeOver.writer}`);
    const late = records.filter((r) => r.writer === victim.name && (r.globalSequence ?? 0) > (takeOver.globalSequence ?? 0));
    if (late.length > 0) problems.push(`${late.length} records of the dead engine after the takeover`);
  }
  // The lease is released just after the result is handed out.
  if (claim) await until(async () => (await observer.lease(claim.executionId))?.released === true, 'the lease release').catch(() => problems.push('the lease was not released'));
  if (closedUnsent) status = result?.status ?? null;
  return { problems, snapshot, killPoint, victim: victim.name, survivor, finishedBeforeKill, closedUnsent, takeoverMs, finishMs, status, fencedRefusals, records: records.length, orders: orders.length, resultRecords: results.length, unprotectedFill };
}
