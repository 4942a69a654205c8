import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { HOUR, T0 } from '../../unit/state/fixtures.js';
import { useStateHarness } from './harness.js';

const h = useStateHarness();

const outbid = { run: 'mosaic_moe', kind: 'preempted', severity: 'critical', message: 'outbid' } as const;

describe('incidents', () => {
  it('opens one incident per (run, kind) and counts later observations on it', async () => {
    const { incidents } = h().store();
    const first = await incidents.openOrUpdate(outbid);
    expect(first.opened).toBe(true);
    expect(first.incident).toMatchObject({
      run: 'mosaic_moe',
      kind: 'preempted',
      state: 'open',
      count: 1,
      firstSeen: T0,
      lastSeen: T0,
    });
    expect(first.incident.id).toMatch(/^inc_[A-Za-z0-9_-]{16}$/);

    await h().clock.advance(60_000);
    const second = await incidents.openOrUpdate({ ...outbid, severity: 'warning', message: 'still outbid' });
    expect(second.opened).toBe(false);
    expect(second.incident).toMatchObject({
      id: first.incident.id,
      count: 2,
      firstSeen: T0,
      lastSeen: T0 + 60_000,
      severity: 'warning',
      message: 'still outbid',
    });
    // An observation arriving late does not move lastSeen backwards.
    const late = await incidents.openOrUpdate({ ...outbid, at: T0 + 1000 });
    expect(late.incident.lastSeen).toBe(T0 + 60_000);

    const other = await incidents.openOrUpdate({ ...outbid, kind: 'disk_warning', severity: 'warning' });
    expect(other.opened).toBe(true);
    expect(other.incident.id).not.toBe(first.incident.id);
    expect((await incidents.getOpen('mosaic_moe', 'preempted'))?.count).toBe(3);
    expect((await incidents.listOpen()).map((i) => i.kind)).toEqual(['preempted', 'disk_warning']);
    expect(await incidents.listOpen({ run: 'gpt2_reference' })).toEqual([]);
  });

  it('resolves idempotently, and a recurrence opens a new incident', async () => {
    const { incidents } = h().store();
    const { incident } = await incidents.openOrUpdate(outbid);
    await h().clock.advance(HOUR);
    const resolved = await incidents.resolve(incident.id);
    expect(resolved?.resolved).toBe(true);
    expect(resolved?.incident).toMatchObject({ state: 'resolved', resolvedAt: T0 + HOUR });
    expect((await incidents.resolve(incident.id))?.resolved).toBe(false);
    expect(await incidents.resolve('inc_nope')).toBeNull();
    expect(await incidents.listOpen()).toEqual([]);
    expect(await incidents.getOpen('mosaic_moe', 'preempted')).toBeNull();
    // Resolved incidents expire after the retention period.
    expect(await h().redis.pttl(`${h().prefix}:incident:${incident.id}`)).toBeGreaterThan(0);

    const again = await incidents.openOrUpdate(outbid);
    expect(again.opened).toBe(true);
    expect(again.incident.id).not.toBe(incident.id);
    expect(await incidents.history('mosaic_moe', 'preempted', 0)).toEqual([T0, T0 + HOUR]);
    expect((await incidents.resolveOpen('mosaic_moe', 'preempted'))?.incident.id).toBe(again.incident.id);
    expect(await incidents.resolveOpen('mosaic_moe', 'preempted')).toBeNull();
  });

  it('acks once: the first acker is kept; unknown ids give null', async () => {
    const { incidents } = h().store();
    const { incident } = await incidents.openOrUpdate(outbid);
    const first = await incidents.ack(incident.id, 'U0ALICE');
    expect(first).toMatchObject({ acked: true, incident: { ackedBy: 'U0ALICE', ackedAt: T0 } });
    await h().clock.advance(5000);
    const second = await incidents.ack(incident.id, 'U0BOB');
    expect(second).toMatchObject({ acked: false, incident: { ackedBy: 'U0ALICE', ackedAt: T0 } });
    expect(await incidents.ack('inc_unknown', 'U0ALICE')).toBeNull();
  });

  it('remembers the Slack message, escalation and last page', async () => {
    const { incidents } = h().store();
    const { incident } = await incidents.openOrUpdate(outbid);
    await incidents.setSlackRef(incident.id, { channel: 'C0OPS', ts: '1767268800.000100' });
    await incidents.markEscalated(incident.id);
    await incidents.markPaged(incident.id, T0 + 5);
    expect(await incidents.get(incident.id)).toMatchObject({
      slack: { channel: 'C0OPS', ts: '1767268800.000100' },
      escalated: true,
      lastPagedAt: T0 + 5,
    });
    expect(await incidents.setSlackRef('inc_gone', { channel: 'C0OPS', ts: '1.2' })).toBeNull();
    expect(await h().redis.exists(`${h().prefix}:incident:inc_gone`)).toBe(0);
  });

  it('opens exactly one incident under 20 concurrent calls from separate clients', async () => {
    const stores = Array.from({ length: 4 }, () => h().store());
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % stores.length]!.incidents.openOrUpdate(outbid)),
    );
    expect(results.filter((r) => r.opened)).toHaveLength(1);
    expect(new Set(results.map((r) => r.incident.id)).size).toBe(1);
    const open = await stores[0]!.incidents.listOpen();
    expect(open).toHaveLength(1);
    expect(open[0]?.count).toBe(20);
    expect(await stores[0]!.incidents.history('mosaic_moe', 'preempted', 0)).toHaveLength(1);
  });

  it('keeps the opening history within its window and cap', async () => {
    const { incidents } = h().store({ incidents: { historyWindowMs: 3 * HOUR, historyMax: 3 } });
    const openAndResolve = async () => {
      const { incident } = await incidents.openOrUpdate(outbid);
      await incidents.resolve(incident.id);
      await h().clock.advance(HOUR);
    };
    for (let i = 0; i < 3; i += 1) await openAndResolve();
    expect(await incidents.history('mosaic_moe', 'preempted', 0)).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR]);
    expect(await incidents.history('mosaic_moe', 'preempted', T0 + HOUR)).toEqual([T0 + HOUR, T0 + 2 * HOUR]);
    await h().clock.advance(2 * HOUR);
    // Now T0 + 5h: only openings since T0 + 2h stay.
    await openAndResolve();
    expect(await incidents.history('mosaic_moe', 'preempted', 0)).toEqual([T0 + 2 * HOUR, T0 + 5 * HOUR]);
    for (let i = 0; i < 3; i += 1) await openAndResolve();
    expect(await incidents.history('mosaic_moe', 'preempted', 0)).toEqual([
      T0 + 6 * HOUR,
      T0 + 7 * HOUR,
      T0 + 8 * HOUR,
    ]);
  });

  it('a corrupt incident fails its own read but not the list of the others', async () => {
    const { incidents } = h().store();
    const good = await incidents.openOrUpdate(outbid);
    const bad = await incidents.openOrUpdate({ ...outbid, kind: 'stalled' });
    await h().redis.hset(`${h().prefix}:incident:${bad.incident.id}`, 'count', 'many');
    await expect(incidents.get(bad.incident.id)).rejects.toThrow(ValidationError);
    await expect(incidents.get(bad.incident.id)).rejects.toThrow(/count: must be an integer/);
    expect((await incidents.listOpen()).map((i) => i.id)).toEqual([good.incident.id]);
  });
});
