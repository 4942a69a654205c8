import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { Shutdown } from '../../../src/shutdown.js';

describe('Shutdown', () => {
  it('runs steps in order, once, and goes on past a failing step', async () => {
    const order: string[] = [];
    const shutdown = new Shutdown(silentLogger);
    shutdown.add('slack', async () => order.push('slack'));
    shutdown.add('workers', async () => {
      order.push('workers');
      throw new Error('boom');
    });
    shutdown.add('redis', async () => order.push('redis'));
    const a = shutdown.close();
    const b = shutdown.close();
    expect(a).toBe(b);
    await a;
    await shutdown.close();
    expect(order).toEqual(['slack', 'workers', 'redis']);
  });
});
