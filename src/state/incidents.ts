import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { HEALTH_STATUSES, type Severity } from '../fleet/health/types.js';
import type { Logger } from '../logger.js';
import type { StateKeys } from './keys.js';
import { luaScript, pairsToRecord } from './lua.js';
import { parseValue } from './schemas.js';
import type { Incident } from './types.js';

/**
 * Incidents live in Redis hashes (one field per property) so that concurrent updates touch only
 * their own fields: a sweep bumping `count` cannot undo an ack that landed a moment earlier.
 * Each mutation that must check before it writes is one Lua script, atomic across processes.
 * A pointer key per (run, kind) holds the id of the one open incident.
 */

export type IncidentKind = Incident['kind'];

export interface IncidentObservation {
  run: string;
  kind: IncidentKind;
  severity: Severity;
  message: string;
  /** Epoch ms; defaults to the clock. */
  at?: number;
}

export interface IncidentStoreOptions {
  /** How far back the per-(run, kind) history keeps opening times (default 7 days). */
  historyWindowMs?: number;
  /** At most this many opening times are kept per (run, kind) (default 100). */
  historyMax?: number;
  /** Resolved incidents expire this long after resolution (default 30 days). */
  resolvedRetentionMs?: number;
}

const DAY_MS = 86_400_000;

const INCIDENT_KINDS = [...HEALTH_STATUSES, 'host_key_changed'] as const;
const intField = z
  .string()
  .regex(/^-?\d+$/, 'must be an integer')
  .transform(Number);

const IncidentHashSchema = z.object({
  id: z.string().min(1),
  run: z.string().min(1),
  kind: z.enum(INCIDENT_KINDS),
  severity: z.enum(['info', 'warning', 'critical']),
  message: z.string(),
  firstSeen: intField,
  lastSeen: intField,
  count: intField,
  state: z.enum(['open', 'resolved']),
  resolvedAt: intField.optional(),
  ackedBy: z.string().optional(),
  ackedAt: intField.optional(),
  escalated: z.enum(['0', '1']).optional(),
  slackChannel: z.string().optional(),
  slackTs: z.string().optional(),
  lastPagedAt: intField.optional(),
});

function incidentFromHash(hash: Record<string, string>, where: string): Incident {
  const h = parseValue(IncidentHashSchema, hash, where);
  const incident: Incident = {
    id: h.id,
    run: h.run,
    kind: h.kind,
    severity: h.severity,
    message: h.message,
    firstSeen: h.firstSeen,
    lastSeen: h.lastSeen,
    count: h.count,
    state: h.state,
  };
  if (h.resolvedAt !== undefined) incident.resolvedAt = h.resolvedAt;
  if (h.ackedBy !== undefined) incident.ackedBy = h.ackedBy;
  if (h.ackedAt !== undefined) incident.ackedAt = h.ackedAt;
  if (h.escalated !== undefined) incident.escalated = h.escalated === '1';
  if (h.slackChannel !== undefined && h.slackTs !== undefined) {
    incident.slack = { channel: h.slackChannel, ts: h.slackTs };
  }
  if (h.lastPagedAt !== undefined) incident.lastPagedAt = h.lastPagedAt;
  return incident;
}

// KEYS: pointer, open set, history. ARGV: incident key prefix, new id, run, kind, severity,
// message, at, history cutoff, history max. Returns {id, opened (0|1), HGETALL}.
const OPEN_OR_UPDATE = luaScript(`
local id = redis.call('GET', KEYS[1])
if id then
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'state') == 'open' then
    redis.call('HINCRBY', key, 'count', 1)
    redis.call('HSET', key, 'severity', ARGV[5], 'message', ARGV[6])
    local last = tonumber(redis.call('HGET', key, 'lastSeen') or '0')
    if tonumber(ARGV[7]) > last then redis.call('HSET', key, 'lastSeen', ARGV[7]) end
    return {id, 0, redis.call('HGETALL', key)}
  end
end
id = ARGV[2]
local key = ARGV[1] .. id
redis.call('HSET', key, 'id', id, 'run', ARGV[3], 'kind', ARGV[4], 'severity', ARGV[5],
  'message', ARGV[6], 'firstSeen', ARGV[7], 'lastSeen', ARGV[7], 'count', 1, 'state', 'open')
redis.call('SET', KEYS[1], id)
redis.call('SADD', KEYS[2], id)
redis.call('ZADD', KEYS[3], ARGV[7], id)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[8])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[9]) + 1))
return {id, 1, redis.call('HGETALL', key)}
`);

// KEYS: incident, open set. ARGV: pointer prefix, id, at, retention ms.
// Returns {-1} unknown, {0, hash} already resolved, {1, hash} resolved now.
const RESOLVE = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return {0, redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], 'state', 'resolved', 'resolvedAt', ARGV[3])
redis.call('SREM', KEYS[2], ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'run', 'kind')
local pointer = ARGV[1] .. tostring(f[1]) .. ':' .. tostring(f[2])
if redis.call('GET', pointer) == ARGV[2] then redis.call('DEL', pointer) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, redis.call('HGETALL', KEYS[1])}
`);

// KEYS: incident. ARGV: user, at. The first ack wins; later ones change nothing.
const ACK = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
if redis.call('HEXISTS', KEYS[1], 'ackedBy') == 1 then return {0, redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], 'ackedBy', ARGV[1], 'ackedAt', ARGV[2])
return {1, redis.call('HGETALL', KEYS[1])}
`);

// KEYS: incident. ARGV: field, value, field, value... Never recreates a deleted/expired incident.
const PATCH = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
redis.call('HSET', KEYS[1], unpack(ARGV))
return {1, redis.call('HGETALL', KEYS[1])}
`);

/** Reads a script reply of the shape {code, hash?}. */
function scriptReply(value: unknown): { code: number; hash: Record<string, string> } {
  const parts = Array.isArray(value) ? value : [];
  return { code: Number(parts[0]), hash: pairsToRecord(parts[1]) };
}

export function newIncidentId(): string {
  return `inc_${randomBytes(12).toString('base64url')}`;
}

export class IncidentStore {
  private readonly historyWindowMs: number;
  private readonly historyMax: number;
  private readonly resolvedRetentionMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: StateKeys,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: IncidentStoreOptions = {},
  ) {
    this.historyWindowMs = options.historyWindowMs ?? 7 * DAY_MS;
    this.historyMax = options.historyMax ?? 100;
    this.resolvedRetentionMs = options.resolvedRetentionMs ?? 30 * DAY_MS;
  }

  /**
   * Opens the incident of (run, kind), or, when one is open, counts this observation on it
   * (count + 1, latest severity and message, lastSeen). Atomic: concurrent callers share one.
   */
  async openOrUpdate(observation: IncidentObservation): Promise<{ incident: Incident; opened: boolean }> {
    const at = observation.at ?? this.clock.now();
    const { run, kind } = observation;
    const reply = await OPEN_OR_UPDATE.run(
      this.redis,
      [this.keys.openIncident(run, kind), this.keys.openIncidents, this.keys.incidentHistory(run, kind)],
      [
        this.keys.incidentPrefix,
        newIncidentId(),
        run,
        kind,
        observation.severity,
        observation.message,
        Math.round(at),
        Math.round(at - this.historyWindowMs),
        this.historyMax,
      ],
    );
    const parts = Array.isArray(reply) ? reply : [];
    const id = String(parts[0]);
    const incident = incidentFromHash(pairsToRecord(parts[2]), this.keys.incident(id));
    return { incident, opened: Number(parts[1]) === 1 };
  }

  async get(id: string): Promise<Incident | null> {
    const key = this.keys.incident(id);
    const hash = await this.redis.hgetall(key);
    if (Object.keys(hash).length === 0) return null;
    return incidentFromHash(hash, key);
  }

  async getOpen(run: string, kind: IncidentKind): Promise<Incident | null> {
    const id = await this.redis.get(this.keys.openIncident(run, kind));
    if (id === null) return null;
    const incident = await this.get(id);
    return incident?.state === 'open' ? incident : null;
  }

  /** Open incidents, oldest first. A corrupt one is logged and skipped so the others still show. */
  async listOpen(filter: { run?: string } = {}): Promise<Incident[]> {
    const ids = await this.redis.smembers(this.keys.openIncidents);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.incident(id));
    const replies = (await pipeline.exec()) ?? [];
    const incidents: Incident[] = [];
    ids.forEach((id, i) => {
      const [err, hash] = replies[i] ?? [null, null];
      const key = this.keys.incident(id);
      if (err) {
        this.logger.warn({ key, err }, 'could not read incident');
        return;
      }
      const record = pairsOrRecord(hash);
      if (Object.keys(record).length === 0) return;
      try {
        const incident = incidentFromHash(record, key);
        if (incident.state === 'open' && (filter.run === undefined || incident.run === filter.run)) {
          incidents.push(incident);
        }
      } catch (parseErr) {
        this.logger.warn({ key, err: parseErr }, 'skipping corrupt incident');
      }
    });
    return incidents.sort((a, b) => a.firstSeen - b.firstSeen || a.id.localeCompare(b.id));
  }

  /** Resolves by id; idempotent (`resolved` says whether this call did it). Null when unknown. */
  async resolve(id: string, at?: number): Promise<{ incident: Incident; resolved: boolean } | null> {
    const key = this.keys.incident(id);
    const reply = scriptReply(
      await RESOLVE.run(
        this.redis,
        [key, this.keys.openIncidents],
        [this.keys.openIncidentPrefix, id, Math.round(at ?? this.clock.now()), this.resolvedRetentionMs],
      ),
    );
    if (reply.code < 0) return null;
    return { incident: incidentFromHash(reply.hash, key), resolved: reply.code === 1 };
  }

  /** Resolves the open incident of (run, kind), if there is one. */
  async resolveOpen(
    run: string,
    kind: IncidentKind,
    at?: number,
  ): Promise<{ incident: Incident; resolved: boolean } | null> {
    const id = await this.redis.get(this.keys.openIncident(run, kind));
    return id === null ? null : this.resolve(id, at);
  }

  /** Acknowledges by id; idempotent: the first acker is kept. Null when unknown. */
  async ack(id: string, user: string, at?: number): Promise<{ incident: Incident; acked: boolean } | null> {
    const key = this.keys.incident(id);
    const reply = scriptReply(await ACK.run(this.redis, [key], [user, Math.round(at ?? this.clock.now())]));
    if (reply.code < 0) return null;
    return { incident: incidentFromHash(reply.hash, key), acked: reply.code === 1 };
  }

  /** Remembers the Slack message of the incident's alert, so later updates edit it in place. */
  setSlackRef(id: string, ref: { channel: string; ts: string }): Promise<Incident | null> {
    return this.patch(id, ['slackChannel', ref.channel, 'slackTs', ref.ts]);
  }

  markEscalated(id: string): Promise<Incident | null> {
    return this.patch(id, ['escalated', '1']);
  }

  markPaged(id: string, at?: number): Promise<Incident | null> {
    return this.patch(id, ['lastPagedAt', String(Math.round(at ?? this.clock.now()))]);
  }

  /**
   * Opening times (epoch ms, oldest first) of the incidents of (run, kind) since `sinceMs`:
   * the input of the recurring rule. Only the store's history window is kept.
   */
  async history(run: string, kind: IncidentKind, sinceMs: number): Promise<number[]> {
    const flat = await this.redis.zrangebyscore(
      this.keys.incidentHistory(run, kind),
      Math.round(sinceMs),
      '+inf',
      'WITHSCORES',
    );
    const times: number[] = [];
    for (let i = 1; i < flat.length; i += 2) times.push(Number(flat[i]));
    return times;
  }

  private async patch(id: string, fields: string[]): Promise<Incident | null> {
    const key = this.keys.incident(id);
    const reply = scriptReply(await PATCH.run(this.redis, [key], fields));
    return reply.code < 0 ? null : incidentFromHash(reply.hash, key);
  }
}

/** A pipeline's HGETALL reply is already an object; anything else counts as empty. */
function pairsOrRecord(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const record: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) record[k] = String(v);
  return record;
}
