import { describe, expect, it } from 'vitest';
import { checkGpuAllowed } from '../../../src/fleet/policy/index.js';
import { defaultPolicy } from './fixtures.js';

describe('checkGpuAllowed', () => {
  const policy = defaultPolicy();

  it.each([
    'RTX 5090',
    'rtx_5090',
    'rtx-5090',
    'RTX5090',
    '  RTX  5090 ',
    'GeForce RTX 5090',
    'NVIDIA GeForce RTX 5090',
    'RTX 5090 D',
  ])('blocks %j with the policy reason', (name) => {
    const check = checkGpuAllowed(name, policy);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toContain('sm_120');
  });

  it.each(['RTX 3090', 'RTX 4090', 'A100 SXM4', 'RTX 50900', 'RTX 509', 'RTX 5080'])('allows %j', (name) => {
    expect(checkGpuAllowed(name, policy)).toEqual({ ok: true });
  });

  it.each(['', '  ', '---'])('refuses the unreadable name %j', (name) => {
    expect(checkGpuAllowed(name, policy).ok).toBe(false);
  });

  it('follows the policy list', () => {
    const custom = { gpu_blocklist: [{ gpu: 'A100', reason: 'too dear' }] };
    expect(checkGpuAllowed('RTX 5090', custom)).toEqual({ ok: true });
    expect(checkGpuAllowed('A100 SXM4', custom)).toEqual({
      ok: false,
      reason: 'A100 SXM4 is blocked (A100): too dear',
    });
    expect(checkGpuAllowed('A1000', custom)).toEqual({ ok: true });
    expect(checkGpuAllowed('RTX A6000', { gpu_blocklist: [{ gpu: 'a6000', reason: 'r' }] }).ok).toBe(false);
  });

  it('allows everything when the blocklist is empty', () => {
    expect(checkGpuAllowed('RTX 5090', { gpu_blocklist: [] })).toEqual({ ok: true });
  });
});
