import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { RunHealth } from '../fleet/health/types.js';
import { type Logger, silentLogger } from '../logger.js';
import { IncidentStore, type IncidentStoreOptions } from './incidents.js';
import { Journal, type JournalOptions } from './journal.js';
import { type StateKeys, stateKeys } from './keys.js';
import { ProposalStore, type ProposalStoreOptions } from './proposals.js';
import { parseStored, parseValue, RunHealthSchema, RunStateSchema } from './schemas.js';
import type { RunState } from './types.js';

/**
 * The service's state in Redis, all under one key prefix (see keys.ts for the layout). Values are
 * JSON validated with zod on the way out: a corrupt key fails its own read with a ValidationError
 * naming the key, and list reads skip it (logged) rather than failing for every run.
 */

export interface StoreDeps {
  redis: Redis;
  /** Key prefix, e.g. `tc` (config KEY_PREFIX). */
  prefix: string;
  clock: Clock;
  logger?: Logger;
  incidents?: IncidentStoreOptions;
  proposals?: ProposalStoreOptions;
  journal?: JournalOptions;
}

const PUT_IF_INSTANCE = `
local current = redis.call('get', KEYS[1])
if current then
  local id = cjson.decode(current)['instanceId']
  local expected = ARGV[1]
  if (id == cjson.null and expected ~= '') or (id ~= cjson.null and tostring(id) ~= expected) then
    return 0
  end
end
redis.call('set', KEYS[1], ARGV[2])
redis.call('set', KEYS[2], ARGV[3])
redis.call('sadd', KEYS[3], ARGV[4])
return 1
`;

export class Store {
  readonly keys: StateKeys;
  readonly incidents: IncidentStore;
  readonly proposals: ProposalStore;
  readonly journal: Journal;
  private readonly redis: Redis;
  private readonly logger: Logger;

  constructor(deps: StoreDeps) {
    this.redis = deps.redis;
    this.logger = deps.logger ?? silentLogger;
    this.keys = stateKeys(deps.prefix);
    this.incidents = new IncidentStore(deps.redis, this.keys, deps.clock, this.logger, deps.incidents);
    this.proposals = new ProposalStore(deps.redis, this.keys, deps.clock, deps.proposals);
    this.journal = new Journal(deps.redis, this.keys, deps.clock, this.logger, deps.journal);
  }

  // --- runs ---

  async getRunState(run: string): Promise<RunState | null> {
    const key = this.keys.run(run);
    const raw = await this.redis.get(key);
    return raw === null ? null : parseStored(RunStateSchema, raw, key);
  }

  async putRunState(state: RunState): Promise<void> {
    const valid = parseValue(RunStateSchema, state, `run state of ${state.run}`);
    await this.redis
      .multi()
      .set(this.keys.run(valid.run), JSON.stringify(valid))
      .sadd(this.keys.runIndex, valid.run)
      .exec();
  }

  /**
   * Writes the run state and its health only if the run is still on `expectedInstanceId`
   * (compare-and-set): the monitor's view of an old instance must never undo a migration that
   * switched the run while it was probing. Returns false when the instance changed.
   */
  async putObservationIfInstance(
    state: RunState,
    health: RunHealth,
    expectedInstanceId: number | null,
  ): Promise<boolean> {
    const valid = parseValue(RunStateSchema, state, `run state of ${state.run}`);
    const key = this.keys.run(valid.run);
    const result = await this.redis.eval(
      PUT_IF_INSTANCE,
      3,
      key,
      this.keys.health(valid.run),
      this.keys.runIndex,
      expectedInstanceId === null ? '' : String(expectedInstanceId),
      JSON.stringify(valid),
      JSON.stringify(
        parseValue(RunHealthSchema, JSON.parse(JSON.stringify(health)), `health of ${health.run}`),
      ),
      valid.run,
    );
    return result === 1;
  }

  async deleteRunState(run: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.keys.run(run), this.keys.health(run))
      .srem(this.keys.runIndex, run)
      .exec();
  }

  /** Every stored run state, by run name. Corrupt ones are logged and left out. */
  async listRunStates(): Promise<RunState[]> {
    const names = (await this.redis.smembers(this.keys.runIndex)).sort();
    const values = await this.getMany(names.map((name) => this.keys.run(name)));
    return values.flatMap(([key, raw]) => this.parseOrSkip(() => parseStored(RunStateSchema, raw, key), key));
  }

  // --- health ---

  async getHealth(run: string): Promise<RunHealth | null> {
    const key = this.keys.health(run);
    const raw = await this.redis.get(key);
    return raw === null ? null : parseStored(RunHealthSchema, raw, key);
  }

  async putHealth(health: RunHealth): Promise<void> {
    // JSON turns NaN/Infinity into null: validate what will actually be stored.
    const valid = parseValue(RunHealthSchema, JSON.parse(JSON.stringify(health)), `health of ${health.run}`);
    await this.redis.set(this.keys.health(valid.run), JSON.stringify(valid));
  }

  /** Latest health of each named run that has one; a corrupt one is logged and left out. */
  async listHealth(runs: readonly string[]): Promise<Map<string, RunHealth>> {
    const values = await this.getMany(runs.map((run) => this.keys.health(run)));
    const result = new Map<string, RunHealth>();
    for (const [key, raw] of values) {
      for (const health of this.parseOrSkip(() => parseStored(RunHealthSchema, raw, key), key)) {
        result.set(health.run, health);
      }
    }
    return result;
  }

  // --- misc ---

  async setMeta(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.redis.set(this.keys.meta(key), value);
    else await this.redis.set(this.keys.meta(key), value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  getMeta(key: string): Promise<string | null> {
    return this.redis.get(this.keys.meta(key));
  }

  /**
   * True the first time `key` is seen within `ttlMs` (real ms), false after: dedupe for Slack
   * retries and the duplicate app_mention/message events of one mention.
   */
  async once(key: string, ttlMs: number): Promise<boolean> {
    const set = await this.redis.set(this.keys.once(key), '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
    return set === 'OK';
  }

  private async getMany(keys: string[]): Promise<[string, string][]> {
    if (keys.length === 0) return [];
    const values = await this.redis.mget(...keys);
    return keys.flatMap((key, i) => {
      const raw = values[i];
      return raw === null || raw === undefined ? [] : [[key, raw] as [string, string]];
    });
  }

  private parseOrSkip<T>(parse: () => T, key: string): T[] {
    try {
      return [parse()];
    } catch (err) {
      this.logger.warn({ err, key }, 'skipping corrupt state value');
      return [];
    }
  }
}

export function createStore(deps: StoreDeps): Store {
  return new Store(deps);
}
