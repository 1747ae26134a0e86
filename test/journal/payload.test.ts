import { describe, expect, it } from 'vitest';
import { REDACTED, toJournalPayload } from '../../src/journal/payload.js';

describe('a journal payload', () => {
  it('cuts a cycle where it closes, and copies an object reached twice by two paths as JSON would', () => {
    const shared = { price: 1.27 };
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    cyclic.inner = { back: cyclic };
    expect(toJournalPayload({ from: shared, to: shared, cyclic })).toEqual({
      from: { price: 1.27 },
      to: { price: 1.27 },
      cyclic: { name: 'loop', self: '[circular]', inner: { back: '[circular]' } },
    });
  });

  it('redacts credentials, names errors and cuts what is too deep, too long or too large', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20; i++) deep = { deep };
    const out = toJournalPayload({ apiKey: 'k', nested: { password: 'p' }, error: Object.assign(new Error('margin'), { code: 'insufficient_funds' }), deep, long: Array.from({ length: 1_500 }, (_, i) => i) }) as Record<string, unknown>;
    expect(out.apiKey).toBe(REDACTED);
    expect(out.nested).toEqual({ password: REDACTED });
    expect(out.error).toEqual({ name: 'Error', message: 'margin', code: 'insufficient_funds' });
    expect(JSON.stringify(out.deep)).toContain('[too deep]');
    expect((out.long as unknown[]).length).toBe(1_000);
    // One array shared by every item of another: a million copies, bounded.
    const row = Array.from({ length: 1_000 }, () => ({ x: 1 }));
    const wide = Array.from({ length: 1_000 }, () => row);
    expect(JSON.stringify(toJournalPayload(wide))).toContain('[too large]');
  });
});
