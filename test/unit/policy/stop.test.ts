import { describe, expect, it } from 'vitest';
import { PolicyViolation } from '../../../src/errors.js';
import { stopCommand } from '../../../src/fleet/policy/index.js';
import type { Policy } from '../../../src/fleet/schema.js';
import { defaultPolicy, thrownBy } from './fixtures.js';

/** A policy that skipped the schema, as a buggy caller or a hand-built object could. */
function unchecked(command: string): Pick<Policy, 'stop_command'> {
  return { stop_command: command as Policy['stop_command'] };
}

describe('stopCommand', () => {
  it('stops training with killall -9 torchrun', () => {
    expect(stopCommand(defaultPolicy())).toBe('killall -9 torchrun');
  });

  it('tolerates stray whitespace in the safe command', () => {
    expect(stopCommand(unchecked('  killall   -9  torchrun '))).toBe('killall -9 torchrun');
  });

  it.each([
    'pkill -9 -f python3',
    'pkill -f python',
    'pkill -9 -f train.py',
    'killall -9 python3',
    'killall -9 torchrun; pkill -f python3',
    'kill -9 -1',
    'killall -9 torchrun && reboot',
    'killall -9 torchrun -f',
    '',
  ])('refuses %j', (command) => {
    const err = thrownBy(() => stopCommand(unchecked(command)));
    expect(err).toBeInstanceOf(PolicyViolation);
    expect((err as PolicyViolation).rule).toBe('stop_command');
  });

  it('says why when it sees pkill -f python', () => {
    expect(() => stopCommand(unchecked('pkill -9 -f python3'))).toThrow(/never pkill -f python/);
  });
});
