/**
 * The fault soak against the offline v20 venue, fixed seed (`npm run soak -- --venue oanda` for a
 * random one): every fill stopped at the venue from the fill, never two orders, every result explained.
 */
import { describe, expect, it } from 'vitest';
import { runOandaSoak } from './oandaSoakRun.js';

describe('fault soak: engine × OandaBroker × offline v20 venue', () => {
  it('30 seeded executions: every fill stopped at the venue after every request, protection keeps up with fills, never two orders', async () => {
    const { statuses, partial } = await runOandaSoak({ seed: 20261205, runs: 30 });
    // The soak reached the paths it is for.
    expect(statuses.get('filled') ?? 0).toBeGreaterThan(5);
    expect(partial).toBeGreaterThan(1);
    expect((statuses.get('failed') ?? 0) + (statuses.get('cancelled') ?? 0) + (statuses.get('failed_timeout') ?? 0)).toBeGreaterThan(3);
  }, 120_000);
});
