/**
 * Signed filled quantity per symbol, as Warden accounts for it: what reconciliation expects the
 * broker to hold besides the execution being reconciled. O(1) per update and query, and only
 * running executions are remembered individually.
 */
export class PositionLedger {
  private readonly bySymbol = new Map<string, number>();
  private readonly running = new Map<string, { symbol: string; signed: number }>();

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

  /** The execution is over: its fill stays in the symbol's total, its own entry goes. */
  settle(executionId: string): void {
    this.running.delete(executionId);
  }

  /** Net position on `symbol` from every execution. */
  net(symbol: string): number {
    return this.bySymbol.get(symbol) ?? 0;
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
