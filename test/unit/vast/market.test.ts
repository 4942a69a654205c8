import { describe, expect, it } from 'vitest';
import { createMarket } from '../../../src/sim/vast/market.js';

describe('simulated market', () => {
  it('is the same for the same seed', () => {
    expect(createMarket({ seed: 3 }).offers()).toEqual(createMarket({ seed: 3 }).offers());
    expect(createMarket({ seed: 3 }).offers()).not.toEqual(createMarket({ seed: 4 }).offers());
  });

  it('makes the RTX 5090 the cheapest offer at every GPU count, whatever the seed', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const offers = createMarket({ seed }).offers();
      for (const n of [1, 4, 8]) {
        const sameCount = offers.filter((o) => o.num_gpus === n).sort((a, b) => a.dph_total - b.dph_total);
        expect(sameCount[0]?.gpu_name, `seed ${seed}, x${n}`).toBe('RTX 5090');
      }
    }
  });

  it('replaces a rented offer with one of the same kind after replenishMs', () => {
    const market = createMarket({ seed: 1, replenishMs: 1000 });
    const offer = market.offers().find((o) => o.gpu_name === 'A100 SXM4' && o.num_gpus === 8)!;
    const count = () => market.offers().filter((o) => o.gpu_name === 'A100 SXM4' && o.num_gpus === 8).length;
    const before = count();
    market.take(offer.id, 0);
    expect(count()).toBe(before - 1);
    expect(market.replenish(999)).toBe(0);
    expect(market.replenish(1000)).toBe(1);
    expect(count()).toBe(before);
    expect(market.find(offer.id)).toBeUndefined();
  });
});
