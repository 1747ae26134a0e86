/**
 * `WARDEN_TEST_SHIFT_DAYS=N` moves this test process's wall clock N days (negative: back) while
 * letting it run: `Date.now()` and `new Date()` read the shifted time, timers are untouched. The
 * suite must pass whatever the wall clock says; `npm run test:shifted` proves it a year either way.
 */
const days = Number(process.env.WARDEN_TEST_SHIFT_DAYS ?? '0');
if (!Number.isFinite(days)) throw new Error(`WARDEN_TEST_SHIFT_DAYS must be a number of days, got ${process.env.WARDEN_TEST_SHIFT_DAYS}`);
if (days !== 0 && (globalThis.Date as { shifted?: boolean }).shifted !== true) {
  const offset = days * 86_400_000;
  const RealDate = globalThis.Date;
  class ShiftedDate extends RealDate {
    static shifted = true;
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...(args as [string | number]));
    }
    static override now(): number {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = ShiftedDate as unknown as DateConstructor;
}
export {};
