import { type Filter, FilterSchema, type OfferQuery, OPERATORS } from '../../infra/vast/types.js';

/**
 * The offer search language of POST /api/v0/bundles/, as the simulator understands it. Pure: the
 * server parses the body with `parseOfferQuery` and runs `applyOfferQuery` over the market.
 */

export const DEFAULT_LIMIT = 64;
export const MAX_LIMIT = 1000;
const RESERVED_KEYS = new Set(['order', 'type', 'limit']);

export type OfferRecord = Readonly<Record<string, unknown>>;

export type ParseResult = { ok: true; query: OfferQuery } | { ok: false; msg: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The real API rejects `{"num_gpus": 4}`: every filter must be an operator dict. */
function parseFilter(field: string, raw: unknown): Filter | string {
  if (!isPlainObject(raw)) {
    return `filter "${field}" must be an operator object such as {"eq": ${JSON.stringify(raw)}}, got a bare value`;
  }
  const parsed = FilterSchema.safeParse(raw);
  if (!parsed.success) {
    return `filter "${field}" is invalid (operators: ${OPERATORS.join(' ')}): ${parsed.error.issues[0]?.message ?? 'bad value'}`;
  }
  return parsed.data;
}

function parseOrder(raw: unknown, knownFields: ReadonlySet<string>): OfferQuery['order'] | string {
  if (!Array.isArray(raw)) return 'order must be a list like [["dph_total","asc"]]';
  const order: [string, 'asc' | 'desc'][] = [];
  for (const entry of raw) {
    if (!Array.isArray(entry) || entry.length !== 2) return 'each order entry must be [field, "asc"|"desc"]';
    const [field, direction] = entry as unknown[];
    if (typeof field !== 'string' || !knownFields.has(field))
      return `cannot order by unknown field ${String(field)}`;
    if (direction !== 'asc' && direction !== 'desc')
      return `order direction must be asc or desc, got ${String(direction)}`;
    order.push([field, direction]);
  }
  return order;
}

function parseLimit(raw: unknown): number | string {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1) return 'limit must be a positive integer';
  return Math.min(raw, MAX_LIMIT);
}

/** Validates a search body. Unknown fields are refused rather than silently matching nothing. */
export function parseOfferQuery(body: unknown, knownFields: ReadonlySet<string>): ParseResult {
  if (!isPlainObject(body)) return { ok: false, msg: 'search body must be a JSON object' };
  const filters: Record<string, Filter> = {};
  for (const [key, raw] of Object.entries(body)) {
    if (RESERVED_KEYS.has(key)) continue;
    if (!knownFields.has(key)) return { ok: false, msg: `unknown search field "${key}"` };
    const filter = parseFilter(key, raw);
    if (typeof filter === 'string') return { ok: false, msg: filter };
    filters[key] = filter;
  }
  const type = body['type'] ?? 'on-demand';
  if (type !== 'on-demand' && type !== 'bid') return { ok: false, msg: 'type must be "on-demand" or "bid"' };
  const query: OfferQuery = { filters, type, limit: DEFAULT_LIMIT };
  if (body['order'] !== undefined) {
    const order = parseOrder(body['order'], knownFields);
    if (typeof order === 'string') return { ok: false, msg: order };
    if (order) query.order = order;
  }
  if (body['limit'] !== undefined) {
    const limit = parseLimit(body['limit']);
    if (typeof limit === 'string') return { ok: false, msg: limit };
    query.limit = limit;
  }
  return { ok: true, query };
}

/** True when `value` satisfies every operator of `filter` (operators in one dict are ANDed). */
export function matchesFilter(value: unknown, filter: Filter): boolean {
  const num = typeof value === 'number' ? value : undefined;
  if (filter.eq !== undefined && value !== filter.eq) return false;
  if (filter.neq !== undefined && value === filter.neq) return false;
  if (filter.gt !== undefined && !(num !== undefined && num > filter.gt)) return false;
  if (filter.gte !== undefined && !(num !== undefined && num >= filter.gte)) return false;
  if (filter.lt !== undefined && !(num !== undefined && num < filter.lt)) return false;
  if (filter.lte !== undefined && !(num !== undefined && num <= filter.lte)) return false;
  const scalar = value as string | number | boolean;
  if (filter.in !== undefined && !filter.in.includes(scalar)) return false;
  if (filter.notin?.includes(scalar)) return false;
  return true;
}

export function matchesQuery(offer: OfferRecord, filters: Readonly<Record<string, Filter>>): boolean {
  return Object.entries(filters).every(([field, filter]) => matchesFilter(offer[field], filter));
}

/** Missing values sort last whatever the direction, as a listing a human reads would. */
function compareValues(a: unknown, b: unknown, direction: 'asc' | 'desc'): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  const sign = direction === 'asc' ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return (a - b) * sign;
  return String(a).localeCompare(String(b)) * sign;
}

export function compareOffers(order: NonNullable<OfferQuery['order']>) {
  return (a: OfferRecord, b: OfferRecord): number => {
    for (const [field, direction] of order) {
      const c = compareValues(a[field], b[field], direction);
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** Filter, order (stable, market order breaks ties), limit. */
export function applyOfferQuery<T extends OfferRecord>(offers: readonly T[], query: OfferQuery): T[] {
  const matched = offers.filter((offer) => matchesQuery(offer, query.filters));
  if (query.order && query.order.length > 0) matched.sort(compareOffers(query.order));
  return matched.slice(0, query.limit ?? DEFAULT_LIMIT);
}
