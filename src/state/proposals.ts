import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { ProposalError } from '../errors.js';
import type { StateKeys } from './keys.js';
import { luaScript } from './lua.js';
import { ProposalSchema, parseStored } from './schemas.js';
import type { Proposal } from './types.js';

/**
 * Proposals are single use and expiring. Two keys per proposal:
 * - the body, with a Redis TTL equal to the proposal's lifetime (scaled to real time when the
 *   clock runs fast), so an abandoned proposal cleans itself up;
 * - a small state marker that outlives the body (`<expiresAt>` while usable, then `consumed`), so
 *   a late click is told "expired" or "already used" rather than "not found".
 * consume() is one Lua script: of any number of concurrent consumers exactly one gets the body.
 */

export interface NewProposal {
  run: string;
  action: Proposal['action'];
  reason: string;
  params: Record<string, unknown>;
  createdBy: string;
  incidentId?: string;
  /** Lifetime in clock milliseconds. */
  ttlMs: number;
}

export interface ProposalStoreOptions {
  /** How long (real ms) after expiry a proposal id is still recognised (default 7 days). */
  markerRetentionMs?: number;
}

// KEYS: body, state. ARGV: now (clock ms), marker retention (real ms).
const CONSUME = luaScript(`
local state = redis.call('GET', KEYS[2])
if not state then return {'not_found'} end
if state == 'consumed' then return {'consumed'} end
if tonumber(state) <= tonumber(ARGV[1]) then return {'expired'} end
local body = redis.call('GET', KEYS[1])
if not body then return {'expired'} end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], 'consumed', 'PX', ARGV[2])
return {'ok', body}
`);

/** 18 random bytes: 144 bits, unguessable, and safe in Slack action values and URLs. */
export function newProposalId(): string {
  return randomBytes(18).toString('base64url');
}

export class ProposalStore {
  private readonly markerRetentionMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: StateKeys,
    private readonly clock: Clock,
    options: ProposalStoreOptions = {},
  ) {
    this.markerRetentionMs = options.markerRetentionMs ?? 7 * 86_400_000;
  }

  async create(input: NewProposal): Promise<Proposal> {
    if (!(input.ttlMs > 0)) throw new RangeError(`proposal ttlMs must be positive, got ${input.ttlMs}`);
    const createdAt = Math.round(this.clock.now());
    const proposal: Proposal = {
      id: newProposalId(),
      run: input.run,
      action: input.action,
      reason: input.reason,
      params: input.params,
      createdAt,
      expiresAt: createdAt + Math.round(input.ttlMs),
      createdBy: input.createdBy,
    };
    if (input.incidentId !== undefined) proposal.incidentId = input.incidentId;
    // Redis counts real time; with a fast clock the proposal must vanish just as fast.
    const realTtlMs = Math.max(1, Math.ceil(input.ttlMs / this.clock.speed));
    await this.redis
      .multi()
      .set(this.keys.proposal(proposal.id), JSON.stringify(proposal), 'PX', realTtlMs)
      .set(
        this.keys.proposalState(proposal.id),
        String(proposal.expiresAt),
        'PX',
        realTtlMs + this.markerRetentionMs,
      )
      .exec();
    return proposal;
  }

  /** The proposal while it is unused and Redis still holds it (it may be past expiresAt). */
  async get(id: string): Promise<Proposal | null> {
    const key = this.keys.proposal(id);
    const raw = await this.redis.get(key);
    return raw === null ? null : parseStored(ProposalSchema, raw, key);
  }

  /**
   * Takes the proposal for execution, once. Throws ProposalError 'consumed' (someone else took it),
   * 'expired' (past expiresAt on the clock, or dropped by Redis TTL) or 'not_found'.
   */
  async consume(id: string, now: number = this.clock.now()): Promise<Proposal> {
    const reply = await CONSUME.run(
      this.redis,
      [this.keys.proposal(id), this.keys.proposalState(id)],
      [Math.round(now), this.markerRetentionMs],
    );
    const [outcome, body] = Array.isArray(reply) ? reply : [];
    switch (outcome) {
      case 'ok':
        return parseStored(ProposalSchema, String(body), this.keys.proposal(id));
      case 'consumed':
        throw new ProposalError('consumed', 'this proposal was already used');
      case 'expired':
        throw new ProposalError('expired', 'this proposal has expired');
      default:
        throw new ProposalError('not_found', 'no such proposal');
    }
  }
}
