import { z } from 'zod';
import type { Clock } from '../../clock.js';
import { errorMessage } from '../../errors.js';
import type { ACTUAL_STATUSES } from '../../infra/vast/types.js';
import type { Logger } from '../../logger.js';
import type { SimHostEndpoint, SimHostPower, SimHostProvider } from '../types.js';
import { type FaultBook, isRequestFault, type SimFault } from './faults.js';
import type { Market, SimOffer } from './market.js';
import { round } from './rng.js';

/**
 * The simulated cloud's instances and their lifecycle. Nothing sleeps: `tick()` compares the
 * injected clock with each instance's deadlines, so a manual clock drives it exactly. Methods
 * return the reply the real API would give, so the HTTP layer only has to serialise it.
 */

type ActualStatus = (typeof ACTUAL_STATUSES)[number];
type PowerState = 'running' | 'stopped';

export type Refusal = { ok: false; status: number; error: string; msg: string };
export type Outcome<T> = { ok: true; value: T } | Refusal;

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const refuse = (status: number, error: string, msg: string): Refusal => ({ ok: false, status, error, msg });
const noSuchInstance = (id: number) => refuse(404, 'no_such_instance', `Instance ${id} not found.`);

/** Both an outbid and a user stop read the same: outbid has no status of its own. */
const STOPPED_MSG = 'Instance stopped.';

interface SimInstance {
  id: number;
  offer: SimOffer;
  label: string | null;
  image: string;
  diskGb: number;
  onstart: string | null;
  runtype: string;
  isBid: boolean;
  bidPrice: number | null;
  /** The machine's current minimum bid: rises above ours when we are outbid. */
  minBid: number;
  actualStatus: ActualStatus | null;
  intendedStatus: PowerState;
  curState: PowerState;
  nextState: PowerState;
  statusMsg: string | null;
  loadingUntil: number | null;
  startDate: number;
  endpoint: SimHostEndpoint;
}

export const RentBodySchema = z.looseObject({
  client_id: z.literal('me'),
  image: z.string().min(1),
  disk: z.number().positive(),
  label: z.string().optional(),
  onstart: z.string().optional(),
  env: z.union([z.record(z.string(), z.string()), z.string()]).optional(),
  runtype: z.string().optional(),
  price: z.number().positive().optional(),
});
export type RentBody = z.infer<typeof RentBodySchema>;

export const InstanceUpdateSchema = z
  .looseObject({
    label: z.string().optional(),
    state: z.enum(['running', 'stopped']).optional(),
  })
  .refine((b) => b.label !== undefined || b.state !== undefined, 'expected label or state');

export const BidChangeSchema = z.looseObject({ client_id: z.literal('me'), price: z.number().positive() });

/** The JSON the real API returns for an instance (the documented fields plus a few real extras). */
export function instanceJson(i: SimInstance) {
  return {
    id: i.id,
    label: i.label,
    actual_status: i.actualStatus,
    intended_status: i.intendedStatus,
    cur_state: i.curState,
    next_state: i.nextState,
    status_msg: i.statusMsg,
    is_bid: i.isBid,
    min_bid: i.minBid,
    dph_total: i.isBid && i.bidPrice !== null ? i.bidPrice : i.offer.dph_total,
    gpu_name: i.offer.gpu_name,
    num_gpus: i.offer.num_gpus,
    gpu_ram: i.offer.gpu_ram,
    ssh_host: i.endpoint.sshHost,
    ssh_port: i.endpoint.sshPort,
    public_ipaddr: i.endpoint.sshHost,
    start_date: i.startDate,
    machine_id: i.offer.machine_id,
    host_id: i.offer.host_id,
    image_uuid: i.image,
    image_runtype: i.runtype,
    disk_space: i.diskGb,
    geolocation: i.offer.geolocation,
    reliability2: i.offer.reliability,
    compute_cap: i.offer.compute_cap,
    cuda_max_good: i.offer.cuda_max_good,
  };
}
export type VastInstanceJson = ReturnType<typeof instanceJson>;

/** What the control API shows: the API view plus what only the simulator knows. */
export type SimInstanceView = VastInstanceJson & {
  host_key: string;
  onstart: string | null;
  bid_price: number | null;
  loading_until: number | null;
};

/** `-e KEY=VALUE` flags, the older string form of env. */
function parseEnvFlags(flags: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of flags.matchAll(/-e\s+([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g)) {
    if (match[1] !== undefined) env[match[1]] = match[2] ?? '';
  }
  return env;
}

export interface SimCloudOptions {
  clock: Clock;
  hosts: SimHostProvider;
  market: Market;
  faults: FaultBook;
  logger: Logger;
  loadingMs: number;
  firstInstanceId: number;
}

export interface SimCloud {
  tick(): Promise<void>;
  rent(offerId: number, body: RentBody): Promise<Outcome<number>>;
  list(): VastInstanceJson[];
  get(id: number): Outcome<VastInstanceJson>;
  update(
    id: number,
    change: { label?: string | undefined; state?: PowerState | undefined },
  ): Promise<Outcome<true>>;
  changeBid(id: number, price: number): Promise<Outcome<true>>;
  destroy(id: number): Promise<Outcome<true>>;
  outbid(id: number): Promise<Outcome<true>>;
  hostGone(id: number, status: 'offline' | 'unknown'): Promise<Outcome<true>>;
  applyFault(fault: SimFault): Promise<Outcome<true>>;
  setLoadingMs(ms: number): void;
  views(): SimInstanceView[];
}

export function createSimCloud(options: SimCloudOptions): SimCloud {
  const { clock, hosts, market, faults, logger } = options;
  const instances = new Map<number, SimInstance>();
  const powerChains = new Map<number, Promise<void>>();
  let loadingMs = options.loadingMs;
  let nextInstanceId = options.firstInstanceId;
  let tickChain: Promise<void> = Promise.resolve();

  /** Power changes for one instance reach the host in the order they were decided. */
  const setPower = (id: number, power: SimHostPower): Promise<void> => {
    const previous = powerChains.get(id) ?? Promise.resolve();
    const next = previous.then(() =>
      hosts.setPower(id, power).catch((err: unknown) => {
        logger.warn({ instanceId: id, power, err: errorMessage(err) }, 'sim host setPower failed');
      }),
    );
    powerChains.set(id, next);
    return next;
  };

  const isGone = (i: SimInstance) => i.actualStatus === 'offline' || i.actualStatus === 'unknown';

  const startLoading = (i: SimInstance, msg: string) => {
    i.actualStatus = 'loading';
    i.intendedStatus = i.curState = i.nextState = 'running';
    i.statusMsg = msg;
    i.loadingUntil = clock.now() + loadingMs;
  };

  const stop = (i: SimInstance): Promise<void> => {
    i.actualStatus = 'stopped';
    i.intendedStatus = i.curState = i.nextState = 'stopped';
    i.statusMsg = STOPPED_MSG;
    i.loadingUntil = null;
    return setPower(i.id, 'stopped');
  };

  const finishLoading = async (now: number) => {
    const ready = [...instances.values()].filter(
      (i) => i.actualStatus === 'loading' && i.loadingUntil !== null && i.loadingUntil <= now,
    );
    for (const i of ready) {
      i.actualStatus = 'running';
      i.statusMsg = `success, running ${i.image}`;
      i.loadingUntil = null;
    }
    await Promise.all(ready.map((i) => setPower(i.id, 'running')));
  };

  const outbid = async (id: number): Promise<Outcome<true>> => {
    const i = instances.get(id);
    if (!i) return noSuchInstance(id);
    if (!i.isBid) return refuse(400, 'invalid_args', `Instance ${id} is on-demand and cannot be outbid.`);
    i.minBid = round(Math.max(i.minBid, i.bidPrice ?? 0) * 1.25 + 0.0001, 4);
    if (!isGone(i)) await stop(i);
    logger.info({ instanceId: id, minBid: i.minBid }, 'sim: instance outbid');
    return ok(true);
  };

  const hostGone = async (id: number, status: 'offline' | 'unknown'): Promise<Outcome<true>> => {
    const i = instances.get(id);
    if (!i) return noSuchInstance(id);
    i.actualStatus = status;
    i.statusMsg = null;
    i.loadingUntil = null;
    await setPower(id, 'stopped');
    logger.info({ instanceId: id, status }, 'sim: host gone');
    return ok(true);
  };

  const applyFault = async (fault: SimFault): Promise<Outcome<true>> => {
    if (fault.kind === 'outbid') return outbid(fault.instanceId);
    if (fault.kind === 'hostGone') return hostGone(fault.instanceId, fault.status ?? 'offline');
    if (fault.kind === 'clearFaults') faults.clear();
    else if (isRequestFault(fault)) faults.add(fault);
    return ok(true);
  };

  const runTick = async () => {
    const now = clock.now();
    for (const fault of faults.takeDue(now)) {
      const outcome = await applyFault(fault);
      if (!outcome.ok) logger.warn({ fault, msg: outcome.msg }, 'sim: scheduled fault did not apply');
    }
    market.replenish(now);
    await finishLoading(now);
  };

  const rent = async (offerId: number, body: RentBody): Promise<Outcome<number>> => {
    const offer = market.find(offerId);
    if (!offer) return refuse(404, 'no_such_ask', `Offer ${offerId} is no longer available.`);
    if (body.price !== undefined && body.price < offer.min_bid) {
      return refuse(
        400,
        'invalid_price',
        `Bid price ${body.price} is below the minimum bid ${offer.min_bid} for offer ${offerId}.`,
      );
    }
    if (body.disk > offer.disk_space) {
      return refuse(
        400,
        'invalid_args',
        `Requested disk ${body.disk} GB exceeds the offer's ${offer.disk_space} GB.`,
      );
    }
    market.take(offerId, clock.now());
    nextInstanceId += 1 + (offerId % 37);
    const id = nextInstanceId;
    const env = typeof body.env === 'string' ? parseEnvFlags(body.env) : (body.env ?? {});
    let endpoint: SimHostEndpoint;
    try {
      endpoint = await hosts.create({
        instanceId: id,
        gpuName: offer.gpu_name,
        numGpus: offer.num_gpus,
        diskGb: body.disk,
        env,
        label: body.label ?? '',
      });
    } catch (err) {
      market.restore(offer);
      logger.error({ instanceId: id, err: errorMessage(err) }, 'sim host create failed');
      return refuse(500, 'internal_error', 'The machine failed to start the container.');
    }
    const instance: SimInstance = {
      id,
      offer,
      label: body.label ?? null,
      image: body.image,
      diskGb: body.disk,
      onstart: body.onstart ?? null,
      runtype: body.runtype ?? 'ssh',
      isBid: body.price !== undefined,
      bidPrice: body.price ?? null,
      minBid: offer.min_bid,
      actualStatus: null,
      intendedStatus: 'running',
      curState: 'running',
      nextState: 'running',
      statusMsg: null,
      loadingUntil: null,
      startDate: clock.now() / 1000,
      endpoint,
    };
    startLoading(instance, `Pulling image ${body.image}`);
    instances.set(id, instance);
    logger.info({ instanceId: id, offerId, bid: instance.isBid }, 'sim: instance rented');
    return ok(id);
  };

  const update = async (
    id: number,
    change: { label?: string | undefined; state?: PowerState | undefined },
  ): Promise<Outcome<true>> => {
    const i = instances.get(id);
    if (!i) return noSuchInstance(id);
    if (change.label !== undefined) i.label = change.label;
    if (change.state === 'stopped' && i.intendedStatus !== 'stopped') {
      if (isGone(i)) i.intendedStatus = 'stopped';
      else await stop(i);
    }
    if (change.state === 'running' && i.curState !== 'running') {
      i.intendedStatus = 'running';
      // An outbid bid instance waits for a bid that beats the machine's minimum again.
      const outbidNow = i.isBid && (i.bidPrice ?? 0) < i.minBid;
      if (!isGone(i) && !outbidNow) startLoading(i, 'Starting instance');
    }
    return ok(true);
  };

  const changeBid = async (id: number, price: number): Promise<Outcome<true>> => {
    const i = instances.get(id);
    if (!i) return noSuchInstance(id);
    if (!i.isBid) return refuse(400, 'invalid_args', `Instance ${id} is on-demand; it has no bid.`);
    i.bidPrice = price;
    if (isGone(i)) return ok(true);
    if (price < i.minBid && i.curState === 'running') await stop(i);
    else if (price >= i.minBid && i.intendedStatus === 'running' && i.curState === 'stopped') {
      startLoading(i, 'Starting instance');
    }
    return ok(true);
  };

  const destroy = async (id: number): Promise<Outcome<true>> => {
    if (!instances.delete(id)) return noSuchInstance(id);
    await (powerChains.get(id) ?? Promise.resolve());
    powerChains.delete(id);
    await hosts.destroy(id).catch((err: unknown) => {
      logger.warn({ instanceId: id, err: errorMessage(err) }, 'sim host destroy failed');
    });
    logger.info({ instanceId: id }, 'sim: instance destroyed');
    return ok(true);
  };

  return {
    tick() {
      tickChain = tickChain.then(runTick, runTick);
      return tickChain;
    },
    rent,
    list: () => [...instances.values()].map(instanceJson),
    get(id) {
      const i = instances.get(id);
      return i ? ok(instanceJson(i)) : noSuchInstance(id);
    },
    update,
    changeBid,
    destroy,
    outbid,
    hostGone,
    applyFault,
    setLoadingMs(ms) {
      loadingMs = ms;
    },
    views: () =>
      [...instances.values()].map((i) => ({
        ...instanceJson(i),
        host_key: i.endpoint.hostKey,
        onstart: i.onstart,
        bid_price: i.bidPrice,
        loading_until: i.loadingUntil,
      })),
  };
}
