import { describe, expect, it } from 'vitest';
import { requiresApproval } from '../../../src/fleet/policy/index.js';
import type { ActionKind } from '../../../src/state/types.js';
import { defaultPolicy } from './fixtures.js';

describe('requiresApproval', () => {
  const policy = defaultPolicy();

  it('runs routine fixes automatically by default', () => {
    expect(requiresApproval('restart', policy)).toBe(false);
    expect(requiresApproval('clean_disk', policy)).toBe(false);
    expect(requiresApproval('collect_logs', policy)).toBe(false);
  });

  it.each<ActionKind>(['migrate', 'destroy', 'finish', 'stop'])('always asks a human before %s', (action) => {
    expect(requiresApproval(action, policy)).toBe(true);
    expect(requiresApproval(action, { auto_actions: { restart: true, clean_disk: true } })).toBe(true);
  });

  it('asks a human for restart and clean_disk when the policy turns them off', () => {
    expect(requiresApproval('restart', { auto_actions: { restart: false, clean_disk: true } })).toBe(true);
    expect(requiresApproval('clean_disk', { auto_actions: { restart: true, clean_disk: false } })).toBe(true);
    expect(requiresApproval('restart', { auto_actions: { restart: true, clean_disk: false } })).toBe(false);
  });

  it('keeps collecting logs automatic even with every auto action off', () => {
    expect(requiresApproval('collect_logs', { auto_actions: { restart: false, clean_disk: false } })).toBe(
      false,
    );
  });

  it('treats an unknown action as needing a human', () => {
    expect(requiresApproval('rent_many' as ActionKind, policy)).toBe(true);
  });
});
