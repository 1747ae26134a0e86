/**
 * The fleet's position ledger and limits in PostgreSQL (tables of schema version 3):
 * `warden_positions` holds one row per execution of any engine (admitted by a fleet limit, or
 * recorded once claimed) — side, size,
 * the fill its engine has heard (never decreasing) and whether it settled; `warden_position_totals`
 * sums the settled fills per symbol, so a read costs the open executions only; and
 * `warden_limit_changes` holds the operators' tightenings that every engine polls for and applies.
 *
 * What a venue position equals, as the fleet counts it: the sum of the net fills of every execution
 * on that symbol that an engine of this store ever admitted (the account is the fleet's alone).
 * Settled executions count their final fill exactly; an open one may have filled at the venue
 * anything between what its engine has heard and its whole size, since the store hears of a fill
 * only after the venue made it.
 */
import type pg from 'pg';
import type { FleetAdmission, FleetLimitFacts, FleetLimitsChange, FleetPosition } from '../../journal/fleetLedger.js';
import { ADVISORY_LOCK_NAMESPACE } from './schema.js';

/** Something that runs one statement: a pool or a client. */
type Query = Pick<pg.Pool, 'query'> | Pick<pg.ClientBase, 'query'>;

/** Second key of the lock that serialises admissions over all symbols (a fleet-wide rate limit). */
const ALL_SYMBOLS_LOCK = 4;
/** Admissions on one symbol are serialised under this namespace, keyed by the symbol's hash. */
const SYMBOL_LOCK_NAMESPACE = 0x5741_5250; // 'WARP'
/**
 * An admitted execution that never reached a claim (its engine died in between) stops counting
 * after this long: nothing can be sent for it without a claim.
 */
const UNCLAIMED_ADMISSION_SECONDS = 60;

/** The fleet's position on symbol `sym` besides execution `id` (placeholders or quoted literals). */
const positionSql = (sym: string, id: string) => `
  SELECT coalesce((SELECT settled_net FROM warden_position_totals WHERE symbol = ${sym}), 0) AS settled,
         coalesce(sum(CASE WHEN p.side = 'buy' THEN p.filled ELSE -p.filled END), 0) AS open_net,
         coalesce(sum(CASE WHEN p.side = 'buy' THEN greatest(p.size - p.filled, 0) ELSE 0 END), 0) AS open_buys,
         coalesce(sum(CASE WHEN p.side = 'sell' THEN greatest(p.size - p.filled, 0) ELSE 0 END), 0) AS open_sells
    FROM warden_positions p
   WHERE p.symbol = ${sym} AND NOT p.settled AND p.execution_id <> ${id}
     AND (p.admitted_at > now() - interval '${UNCLAIMED_ADMISSION_SECONDS} seconds'
          OR EXISTS (SELECT 1 FROM warden_claims c WHERE c.execution_id = p.execution_id))`;
/** The orders admitted in the last minute on symbol `sym` and over all symbols (not those refused before sending). */
const rateSql = (sym: string) => `
  SELECT count(*) FILTER (WHERE symbol = ${sym})::int AS symbol, count(*)::int AS "all"
    FROM warden_positions WHERE admitted_at > now() - interval '60 seconds' AND sent`;

/** A symbol's lock key: FNV-1a, as a signed 32-bit integer (PostgreSQL's two-key lock form). */
function symbolLockKey(symbol: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) h = Math.imul(h ^ symbol.charCodeAt(i), 0x01000193);
  return h | 0;
}

type PositionRow = { settled: number; open_net: number; open_buys: number; open_sells: number };

const toPosition = (r: PositionRow | undefined): FleetPosition => {
  const settled = Number(r?.settled ?? 0);
  const openNet = Number(r?.open_net ?? 0);
  const openBuys = Number(r?.open_buys ?? 0);
  const openSells = Number(r?.open_sells ?? 0);
  const net = settled + openNet;
  return { net, low: net - openSells, high: net + openBuys, openBuys, openSells };
};

/**
 * The fleet's position on `symbol` besides `excludingExecutionId`, in one statement (one snapshot).
 *
 * @example
 * const { net, low, high } = await fleetPosition(pool, 'EURUSD', executionId);
 */
export async function fleetPosition(db: Query, symbol: string, excludingExecutionId: string): Promise<FleetPosition> {
  const { rows } = await db.query<PositionRow>(positionSql('$1', '$2'), [symbol, excludingExecutionId]);
  return toPosition(rows[0]);
}

/**
 * Reads the fleet's facts for `request` and records the execution if `admit` accepts them, both
 * under a lock that every engine's admission on the symbol takes: two engines can never both be
 * admitted against the same room under a limit. Returns the facts `admit` was shown.
 *
 * @example
 * const { facts, admitted } = await admitToFleet(pool, writer, request, (f) => limitProblem('position', snapshot, f) === null);
 */
export async function admitToFleet(
  pool: Pick<pg.Pool, 'connect'>,
  writer: string,
  request: FleetAdmission,
  admit: (facts: FleetLimitFacts) => boolean,
): Promise<{ readonly facts: FleetLimitFacts; readonly admitted: boolean }> {
  if (!Number.isFinite(request.size) || request.size <= 0) throw new RangeError(`admission needs a positive size, got ${String(request.size)}`);
  const client = await pool.connect();
  try {
    // Two round trips, whatever the distance to the server: the locks and the reads in one simple
    // query (each statement reads after the locks are held), then the row and the commit.
    const sym = client.escapeLiteral(request.symbol);
    const locks = [...(request.wholeFleetRate ? [[ADVISORY_LOCK_NAMESPACE, ALL_SYMBOLS_LOCK]] : []), [SYMBOL_LOCK_NAMESPACE, symbolLockKey(request.symbol)]];
    try {
      const results = (await client.query(
        ['BEGIN', ...locks.map(([a, b]) => `SELECT pg_advisory_xact_lock(${a}, ${b})`), positionSql(sym, client.escapeLiteral(request.executionId)), rateSql(sym)].join(';\n'),
      )) as unknown as pg.QueryResult[];
      const rate = results.at(-1)!.rows[0] as { symbol: number; all: number } | undefined;
      const facts: FleetLimitFacts = {
        position: toPosition(results.at(-2)!.rows[0] as PositionRow | undefined),
        ordersLastMinute: { symbol: rate?.symbol ?? 0, all: rate?.all ?? 0 },
      };
      const admitted = admit(facts);
      const values = [request.executionId, request.symbol, request.side, writer].map((v) => client.escapeLiteral(v));
      await client.query(
        admitted
          ? `INSERT INTO warden_positions (execution_id, symbol, side, writer_id, size) VALUES (${values.join(', ')}, ${request.size}) ON CONFLICT (execution_id) DO NOTHING;\nCOMMIT`
          : 'COMMIT',
      );
      return { facts, admitted };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    client.release();
  }
}

/**
 * Records a claimed execution in the fleet's ledger (when no limit needed it admitted under the
 * fleet's lock): from now on other engines count it. One statement; a second record is a no-op.
 *
 * @example
 * await recordFleetExecution(pool, 'engine-a', { executionId, symbol: 'EURUSD', side: 'buy', size: 10_000 });
 */
export async function recordFleetExecution(db: Query, writer: string, e: Omit<FleetAdmission, 'wholeFleetRate'>): Promise<void> {
  await db.query('INSERT INTO warden_positions (execution_id, symbol, side, size, writer_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (execution_id) DO NOTHING', [
    e.executionId,
    e.symbol,
    e.side,
    e.size,
    writer,
  ]);
}

/**
 * What the execution's engine has heard filled (cumulative): a figure never goes down, and a
 * settled execution's figure is final.
 *
 * @example
 * await recordFleetFill(pool, executionId, 4_000);
 */
export async function recordFleetFill(db: Query, executionId: string, filled: number): Promise<void> {
  await db.query('UPDATE warden_positions SET filled = greatest(filled, $2) WHERE execution_id = $1 AND NOT settled', [executionId, filled]);
}

/**
 * The execution is over: its final fill joins the symbol's settled total, in the same statement
 * (so a reader sees it either open or in the total, never in both or neither). `sent: false` (it
 * was refused before any order) takes it out of the fleet's order rate. Only the engine that holds
 * (or last held) the execution's lease settles it: an engine it was taken over from, woken late,
 * would otherwise move the fill into the total while the taker still counts the execution as its
 * own, and the taker's reconciliation would expect the fill twice (a false flag).
 *
 * @example
 * await settleFleetPosition(pool, 'engine-a', executionId, result.filledQuantity ?? 0, result.status !== 'rejected');
 */
export async function settleFleetPosition(db: Query, writer: string, executionId: string, filled: number, sent: boolean): Promise<void> {
  await db.query(
    `WITH s AS (
       UPDATE warden_positions SET filled = greatest(filled, $2), settled = true, sent = $3
        WHERE execution_id = $1 AND NOT settled
          AND NOT EXISTS (SELECT 1 FROM warden_leases l WHERE l.execution_id = $1 AND l.owner <> $4)
        RETURNING symbol, CASE WHEN side = 'buy' THEN filled ELSE -filled END AS signed)
     INSERT INTO warden_position_totals (symbol, settled_net) SELECT symbol, signed FROM s
     ON CONFLICT (symbol) DO UPDATE SET settled_net = warden_position_totals.settled_net + EXCLUDED.settled_net`,
    [executionId, filled, sent, writer],
  );
}

/**
 * Writes a tightening for every engine of the store (each polls for it); returns its id.
 *
 * @example
 * const id = await writeFleetLimitsChange(pool, 'cli', { change, operator: 'ana', reason: 'NFP' });
 */
export async function writeFleetLimitsChange(db: Query, writer: string, c: Omit<FleetLimitsChange, 'id'>): Promise<number> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO warden_limit_changes (change, operator, reason, writer_id) VALUES ($1, $2, $3, $4) RETURNING id', [
    JSON.stringify(c.change),
    c.operator,
    c.reason,
    writer,
  ]);
  return Number(rows[0]!.id);
}

/**
 * The fleet's limit tightenings after `afterId`, oldest first.
 *
 * @example
 * for (const c of await fleetLimitsChanges(pool, lastSeen)) apply(c);
 */
export async function fleetLimitsChanges(db: Query, afterId: number): Promise<FleetLimitsChange[]> {
  const { rows } = await db.query<{ id: string; change: unknown; operator: string; reason: string }>(
    'SELECT id, change, operator, reason FROM warden_limit_changes WHERE id > $1 ORDER BY id',
    [afterId],
  );
  return rows.map((r) => ({ id: Number(r.id), change: r.change, operator: r.operator, reason: r.reason }));
}

/**
 * Each writer's latest limits record (its start, or its latest tightening): the limits each
 * engine of the store last ran with, as it journaled them.
 *
 * @example
 * for (const { writer, limits } of await limitsByWriter(pool)) console.log(writer, limits);
 */
export async function limitsByWriter(db: Query): Promise<{ readonly writer: string; readonly at: string; readonly limits: unknown }[]> {
  const { rows } = await db.query<{ writer_id: string; at: string; event: string; payload: string }>(
    `SELECT DISTINCT ON (writer_id) writer_id, at, event, payload FROM warden_records
      WHERE kind = 'limits' AND execution_id IS NULL AND event IN ('start', 'tighten')
      ORDER BY writer_id, global_sequence DESC`,
  );
  return rows.map((r) => {
    let payload: { limits?: unknown; to?: unknown } = {};
    try {
      payload = JSON.parse(r.payload) as typeof payload;
    } catch {
      // an unreadable record names no limits
    }
    return { writer: r.writer_id, at: r.at, limits: r.event === 'start' ? payload.limits : payload.to };
  });
}

/**
 * The writers that journaled applying fleet change `id` so far.
 *
 * @example
 * const applied = await appliedBy(pool, 4); // ['engine-a', 'engine-b']
 */
export async function appliedBy(db: Query, id: number): Promise<string[]> {
  const { rows } = await db.query<{ writer_id: string }>(
    `SELECT DISTINCT writer_id FROM warden_records WHERE kind = 'limits' AND event = 'tighten' AND execution_id IS NULL AND payload LIKE $1 ORDER BY writer_id`,
    [`%(fleet change ${id})%`],
  );
  return rows.map((r) => r.writer_id);
}
