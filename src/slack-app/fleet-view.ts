import { progress } from '../fleet/health/progress.js';
import type { Fleet } from '../fleet/schema.js';
import type { StatusDigestInput } from '../slack-messages/status-digest.js';
import type { Store } from '../state/store.js';

const CACHE_MS = 2000;
const cache = new WeakMap<Store, Map<string, { at: number; value: Promise<StatusDigestInput> }>>();

/**
 * Reads what the digest shows from the store: one read per run, no SSH. A burst of `/train status`
 * shares one read for two seconds (real time), so a large fleet is not read once per request.
 */
export function loadDigestInput(
  store: Store,
  fleet: Fleet,
  now: number,
  only?: string,
): Promise<StatusDigestInput> {
  let entries = cache.get(store);
  if (!entries) {
    entries = new Map();
    cache.set(store, entries);
  }
  const key = only ?? '*';
  const hit = entries.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
  const value = readDigestInput(store, fleet, now, only);
  entries.set(key, { at: Date.now(), value });
  value.catch(() => entries.delete(key));
  return value;
}

async function readDigestInput(
  store: Store,
  fleet: Fleet,
  now: number,
  only?: string,
): Promise<StatusDigestInput> {
  const specs = fleet.runs.filter((r) => !only || r.name === only);
  const healths = await store.listHealth(specs.map((r) => r.name));
  const runs = await Promise.all(
    specs.map(async (spec) => {
      const state = await store.getRunState(spec.name);
      const health = healths.get(spec.name) ?? null;
      const p = progress(health?.stepHistory ?? [], spec.target_steps, state?.costPerHr ?? 0);
      return {
        spec,
        health,
        instance:
          state?.instanceId != null
            ? {
                id: state.instanceId,
                gpuName: state.gpuName ?? '?',
                numGpus: state.numGpus ?? 0,
                dphTotal: state.costPerHr,
              }
            : null,
        progress: { stepsPerHour: p.stepsPerHour, etaHours: p.etaHours, pctComplete: p.pctComplete },
        costPerHr: state?.costPerHr ?? 0,
      };
    }),
  );
  const open = await store.incidents.listOpen();
  return {
    runs,
    openIncidents: open.length,
    totalCostHr: runs.reduce((sum, r) => sum + r.costPerHr, 0),
    generatedAt: now,
  };
}
