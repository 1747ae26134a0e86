/** Warden symbols (`EURUSD`, `XAUUSD`) and OANDA instrument names (`EUR_USD`, `XAU_USD`). */

/**
 * A symbol → instrument map: explicit entries first, then the six-letter rule (`EURUSD` →
 * `EUR_USD`), then a name that already has OANDA's underscore (`SPX500_USD`).
 *
 * @example
 * const map = instrumentMap({ US500: 'SPX500_USD' });
 * map.toInstrument('EURUSD'); // 'EUR_USD'
 * map.toInstrument('US500');  // 'SPX500_USD'
 * map.toSymbol('XAU_USD');    // 'XAUUSD'
 */
export function instrumentMap(explicit: Readonly<Record<string, string>> = {}): {
  toInstrument(symbol: string): string | null;
  toSymbol(instrument: string): string;
} {
  const reverse = new Map(Object.entries(explicit).map(([symbol, instrument]) => [instrument, symbol]));
  return {
    toInstrument(symbol) {
      const mapped = explicit[symbol];
      if (mapped !== undefined) return mapped;
      if (/^[A-Z]{6}$/.test(symbol)) return `${symbol.slice(0, 3)}_${symbol.slice(3)}`;
      if (/^[A-Z0-9]+_[A-Z0-9]+$/.test(symbol)) return symbol;
      return null;
    },
    toSymbol(instrument) {
      return reverse.get(instrument) ?? (/^[A-Z]{3}_[A-Z]{3}$/.test(instrument) ? instrument.replace('_', '') : instrument);
    },
  };
}
