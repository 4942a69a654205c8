import { z } from 'zod';
import type { Rng } from './rng.js';

/**
 * Faults the simulated cloud can inject. Request faults (rate limit, 5xx, slowness, a lost rent
 * response) apply to the next `count` matching API requests, or to each one with probability
 * `fraction` until cleared; with neither, to the next one. Instance faults (outbid, hostGone)
 * happen at once. Any fault can also be scheduled at a clock time.
 */

const requestMatch = {
  /** Only requests with this HTTP method. */
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE']).optional(),
  /** Only requests whose path starts with this, e.g. "/api/v0/instances/". */
  pathPrefix: z.string().optional(),
  count: z.number().int().positive().optional(),
  fraction: z.number().min(0).max(1).optional(),
};

export const SimFaultSchema = z.discriminatedUnion('kind', [
  /** 429 with a plain-text body and no Retry-After, like the real API. */
  z.object({ kind: z.literal('rateLimit'), ...requestMatch }),
  z.object({
    kind: z.literal('serverError'),
    status: z.number().int().min(500).max(599).optional(),
    ...requestMatch,
  }),
  /** Real milliseconds of delay before the request is handled. */
  z.object({ kind: z.literal('slow'), delayMs: z.number().int().nonnegative(), ...requestMatch }),
  /** The rent is carried out, then the socket is destroyed before any response. */
  z.object({ kind: z.literal('loseRentResponse'), count: z.number().int().positive().optional() }),
  z.object({ kind: z.literal('outbid'), instanceId: z.number().int() }),
  z.object({
    kind: z.literal('hostGone'),
    instanceId: z.number().int(),
    status: z.enum(['offline', 'unknown']).optional(),
  }),
  z.object({ kind: z.literal('clearFaults') }),
]);
export type SimFault = z.infer<typeof SimFaultSchema>;
export type RequestFault = Extract<
  SimFault,
  { kind: 'rateLimit' | 'serverError' | 'slow' | 'loseRentResponse' }
>;
export type InstanceFault = Extract<SimFault, { kind: 'outbid' | 'hostGone' }>;

export function isRequestFault(fault: SimFault): fault is RequestFault {
  return ['rateLimit', 'serverError', 'slow', 'loseRentResponse'].includes(fault.kind);
}

interface ActiveFault {
  fault: RequestFault;
  /** Triggers left; null = until cleared. */
  remaining: number | null;
}

export interface RequestVerdict {
  delayMs: number;
  /** Respond with this instead of handling the request. */
  reject?: { status: number; kind: 'rateLimit' | 'serverError' };
}

export interface FaultBook {
  add(fault: RequestFault): void;
  clear(): void;
  schedule(at: number, fault: SimFault): void;
  /** Scheduled faults whose time has come, removed from the schedule, in time order. */
  takeDue(now: number): SimFault[];
  /** Decides, and consumes, the faults that hit this request before it is handled. */
  judge(method: string, path: string): RequestVerdict;
  /** After a successful rent: true (and consumed) when its response must be lost. */
  takeLostResponse(method: string, path: string): boolean;
  active(): readonly ActiveFault[];
  scheduled(): readonly { at: number; fault: SimFault }[];
}

export const RENT_PATH_PREFIX = '/api/v0/asks/';

function matches(fault: RequestFault, method: string, path: string): boolean {
  if (fault.kind === 'loseRentResponse') return method === 'PUT' && path.startsWith(RENT_PATH_PREFIX);
  if (fault.method && fault.method !== method) return false;
  if (fault.pathPrefix && !path.startsWith(fault.pathPrefix)) return false;
  return true;
}

export function createFaultBook(rng: Rng): FaultBook {
  let faults: ActiveFault[] = [];
  const schedule: { at: number; fault: SimFault }[] = [];

  /** Fires one fault of `kind` if any matches; counts down and drops spent ones. */
  const fire = <K extends RequestFault['kind']>(
    kind: K,
    method: string,
    path: string,
  ): Extract<RequestFault, { kind: K }> | undefined => {
    for (const entry of faults) {
      const { fault } = entry;
      if (fault.kind !== kind || !matches(fault, method, path)) continue;
      const fraction = 'fraction' in fault ? fault.fraction : undefined;
      if (fraction !== undefined && rng.next() >= fraction) continue;
      if (entry.remaining !== null) entry.remaining--;
      faults = faults.filter((f) => f.remaining === null || f.remaining > 0);
      return fault as Extract<RequestFault, { kind: K }>;
    }
    return undefined;
  };

  return {
    add(fault) {
      const fraction = 'fraction' in fault ? fault.fraction : undefined;
      const remaining = fault.count ?? (fraction === undefined ? 1 : null);
      faults.push({ fault, remaining });
    },
    clear() {
      faults = [];
    },
    schedule(at, fault) {
      schedule.push({ at, fault });
      schedule.sort((a, b) => a.at - b.at);
    },
    takeDue(now) {
      const due: SimFault[] = [];
      while (schedule[0] && schedule[0].at <= now) due.push(schedule.shift()!.fault);
      return due;
    },
    judge(method, path) {
      const slow = fire('slow', method, path);
      const delayMs = slow?.delayMs ?? 0;
      if (fire('rateLimit', method, path)) return { delayMs, reject: { status: 429, kind: 'rateLimit' } };
      const failed = fire('serverError', method, path);
      if (failed) return { delayMs, reject: { status: failed.status ?? 500, kind: 'serverError' } };
      return { delayMs };
    },
    takeLostResponse: (method, path) => fire('loseRentResponse', method, path) !== undefined,
    active: () => faults,
    scheduled: () => schedule,
  };
}
