/**
 * Signed filled quantity per symbol, as Warden accounts for it: what reconciliation expects the
 * broker to hold besides the execution being reconciled — every execution's fills, plus the
 * adjustments operators' resolutions adopted from the venue (a position closed outside an
 * execution: a stop or take-profit that fired, a hand close). O(1) per update and query, and only
 * running executions are remembered individually.
 */
export class PositionLedger {
  private readonly bySymbol = new Map<string, number>();
  private readonly running = new Map<string, { symbol: string; signed: number }>();
  /** What this process's resolutions adopted from the venue, per symbol (restored ones are in `bySymbol` only). */
  private readonly adopted = new Map<string, number>();

  /** A ledger that starts from finished executions' fills (from a journal). */
  static of(fills: Iterable<{ symbol: string; signed: number }>): PositionLedger {
    const ledger = new PositionLedger();
    for (const f of fills) ledger.bySymbol.set(f.symbol, (ledger.bySymbol.get(f.symbol) ?? 0) + f.signed);
    return ledger;
  }

  /** Records an execution's current signed fill (replacing its previous figure). */
  update(executionId: string, symbol: string, signed: number): void {
    const previous = this.running.get(executionId)?.signed ?? 0;
    if (signed !== previous) this.bySymbol.set(symbol, (this.bySymbol.get(symbol) ?? 0) + signed - previous);
    this.running.set(executionId, { symbol, signed });
  }

  /**
   * A resolved flag's position difference (the venue's quantity less Warden's expected one at that
   * reconciliation): from now on Warden's book holds what the venue held then.
   */
  adjust(symbol: string, signed: number): void {
    if (signed === 0) return;
    this.bySymbol.set(symbol, (this.bySymbol.get(symbol) ?? 0) + signed);
    this.adopted.set(symbol, (this.adopted.get(symbol) ?? 0) + signed);
  }

  /** The execution is over: its fill stays in the symbol's total, its own entry goes. */
  settle(executionId: string): void {
    this.running.delete(executionId);
  }

  /** Net position on `symbol` from every execution. */
  net(symbol: string): number {
    return this.bySymbol.get(symbol) ?? 0;
  }

  /**
   * Net position on `symbol` without what resolutions adopted from the venue since the start:
   * Warden's own fills (and the book it restarted with). The position limit's figure when the
   * venue's last answer was flagged and cannot be had again (an adopted figure came from such an answer).
   */
  ownFills(symbol: string): number {
    return this.net(symbol) - (this.adopted.get(symbol) ?? 0);
  }

  /** The signed fill of a running execution (0 once it settled, or before it filled). */
  filledBy(executionId: string): number {
    return this.running.get(executionId)?.signed ?? 0;
  }

  /** Net position on `symbol` from every execution except `executionId`. */
  othersOn(symbol: string, executionId: string): number {
    const own = this.running.get(executionId);
    return (this.bySymbol.get(symbol) ?? 0) - (own && own.symbol === symbol ? own.signed : 0);
  }
}
