import { z } from 'zod';

/** Vast.ai REST shapes (DESIGN.md). Parsed with zod at the boundary; unknown fields pass through. */

export const ACTUAL_STATUSES = [
  'loading',
  'running',
  'stopped',
  'exited',
  'frozen',
  'rebooting',
  'unknown',
  'offline',
] as const;

export const VastOfferSchema = z.looseObject({
  id: z.number().int(),
  machine_id: z.number().int(),
  gpu_name: z.string(),
  num_gpus: z.number().int(),
  gpu_ram: z.number(),
  dph_total: z.number(),
  min_bid: z.number(),
  reliability: z.number(),
  inet_down: z.number(),
  disk_space: z.number(),
  geolocation: z.string().nullable(),
  cuda_max_good: z.number(),
  compute_cap: z.number(),
});
export type VastOffer = z.infer<typeof VastOfferSchema>;

export const VastInstanceSchema = z.looseObject({
  id: z.number().int(),
  label: z.string().nullable(),
  actual_status: z.enum(ACTUAL_STATUSES).nullable(),
  intended_status: z.string().nullable(),
  cur_state: z.string().nullable(),
  next_state: z.string().nullable(),
  status_msg: z.string().nullable(),
  is_bid: z.boolean(),
  min_bid: z.number().nullable(),
  dph_total: z.number(),
  gpu_name: z.string(),
  num_gpus: z.number().int(),
  ssh_host: z.string().nullable(),
  ssh_port: z.number().int().nullable(),
  public_ipaddr: z.string().nullable(),
  start_date: z.number().nullable(),
});
export type VastInstance = z.infer<typeof VastInstanceSchema>;

export const OPERATORS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'notin'] as const;
export type FilterOperator = (typeof OPERATORS)[number];
const scalar = z.union([z.number(), z.string(), z.boolean()]);
export const FilterSchema = z
  .object({
    eq: scalar.optional(),
    neq: scalar.optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
    in: z.array(scalar).optional(),
    notin: z.array(scalar).optional(),
  })
  .strict();
export type Filter = z.infer<typeof FilterSchema>;

export interface OfferQuery {
  filters: Record<string, Filter>;
  order?: [string, 'asc' | 'desc'][];
  type: 'on-demand' | 'bid';
  limit?: number;
}

export interface RentRequest {
  image: string;
  disk: number;
  label: string;
  onstart?: string;
  env?: Record<string, string>;
  runtype?: string;
  /** Present = interruptible bid at this $/h. */
  price?: number;
}

/**
 * Outbid has no status of its own (DESIGN.md): a bid instance that we did not stop, sitting in
 * stopped/stopped/stopped, or one whose actual_status can never return to running, is down.
 */
export function isPreempted(instance: VastInstance, stoppedByUs: boolean): boolean {
  if (['exited', 'unknown', 'offline'].includes(instance.actual_status ?? '')) return true;
  if (!instance.is_bid || stoppedByUs) return false;
  return (
    instance.cur_state === 'stopped' &&
    instance.intended_status === 'stopped' &&
    instance.next_state === 'stopped'
  );
}
