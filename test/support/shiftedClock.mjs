// Moves this process's wall clock WARDEN_TEST_SHIFT_DAYS days while letting it run: Date.now()
// and new Date() read the shifted time; timers are untouched. Loaded by the vitest setup file and,
// through NODE_OPTIONS, by every node process a test starts, so parent and children agree.
const days = Number(process.env.WARDEN_TEST_SHIFT_DAYS ?? '0');
if (!Number.isFinite(days)) throw new Error(`WARDEN_TEST_SHIFT_DAYS must be a number of days, got ${process.env.WARDEN_TEST_SHIFT_DAYS}`);
if (days !== 0 && globalThis.Date.shifted !== true) {
  const offset = days * 86_400_000;
  const RealDate = globalThis.Date;
  class ShiftedDate extends RealDate {
    static shifted = true;
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...args);
    }
    static now() {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = ShiftedDate;
}
