import { describe, expect, it } from 'vitest';
import { createFaultBook } from '../../../src/sim/vast/faults.js';
import { createRng } from '../../../src/sim/vast/rng.js';

describe('fault book', () => {
  it('a counted fault hits the next N matching requests only', () => {
    const book = createFaultBook(createRng(1));
    book.add({ kind: 'rateLimit', count: 2, method: 'GET' });
    expect(book.judge('PUT', '/api/v0/asks/1/').reject).toBeUndefined();
    expect(book.judge('GET', '/api/v0/instances/').reject?.status).toBe(429);
    expect(book.judge('GET', '/api/v0/instances/').reject?.status).toBe(429);
    expect(book.judge('GET', '/api/v0/instances/').reject).toBeUndefined();
    expect(book.active()).toHaveLength(0);
  });

  it('a fault with neither count nor fraction fires once', () => {
    const book = createFaultBook(createRng(1));
    book.add({ kind: 'serverError', status: 502 });
    expect(book.judge('GET', '/x').reject).toEqual({ status: 502, kind: 'serverError' });
    expect(book.judge('GET', '/x').reject).toBeUndefined();
  });

  it('a fractional fault hits about that share until cleared', () => {
    const book = createFaultBook(createRng(42));
    book.add({ kind: 'serverError', fraction: 0.3 });
    const hits = Array.from({ length: 1000 }, () => book.judge('GET', '/x').reject).filter(Boolean).length;
    expect(hits).toBeGreaterThan(240);
    expect(hits).toBeLessThan(360);
    book.clear();
    expect(book.judge('GET', '/x').reject).toBeUndefined();
  });

  it('slowness combines with a rejection; a lost response only concerns rents', () => {
    const book = createFaultBook(createRng(1));
    book.add({ kind: 'slow', delayMs: 250 });
    book.add({ kind: 'rateLimit' });
    expect(book.judge('GET', '/x')).toEqual({ delayMs: 250, reject: { status: 429, kind: 'rateLimit' } });
    book.add({ kind: 'loseRentResponse' });
    expect(book.takeLostResponse('GET', '/api/v0/instances/')).toBe(false);
    expect(book.takeLostResponse('PUT', '/api/v0/asks/5/')).toBe(true);
    expect(book.takeLostResponse('PUT', '/api/v0/asks/5/')).toBe(false);
  });

  it('hands out scheduled faults in time order once due', () => {
    const book = createFaultBook(createRng(1));
    book.schedule(2000, { kind: 'outbid', instanceId: 2 });
    book.schedule(1000, { kind: 'outbid', instanceId: 1 });
    expect(book.takeDue(999)).toEqual([]);
    expect(book.takeDue(2000)).toEqual([
      { kind: 'outbid', instanceId: 1 },
      { kind: 'outbid', instanceId: 2 },
    ]);
    expect(book.takeDue(5000)).toEqual([]);
  });
});
