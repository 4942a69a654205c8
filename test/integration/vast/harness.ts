import { createServer } from 'node:net';
import { type Clock, manualClock } from '../../../src/clock.js';
import { createVastClient, type VastClient, type VastClientOptions } from '../../../src/infra/vast/client.js';
import { silentLogger } from '../../../src/logger.js';
import type { SimHostPower, SimHostProvider, SimHostSpec } from '../../../src/sim/types.js';
import { startVastSim, type VastSim, type VastSimOptions } from '../../../src/sim/vast/index.js';

export const API_KEY = 'test-vast-key-0123456789';

/** A port nothing listens on: the fake hosts hand it out as their SSH endpoint. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface FakeHosts extends SimHostProvider {
  calls: string[];
  specs: SimHostSpec[];
  power: Map<number, SimHostPower>;
}

/** Records what the cloud asks of the host layer; no SSH behind it. */
export function fakeHosts(): FakeHosts {
  const calls: string[] = [];
  const specs: SimHostSpec[] = [];
  const power = new Map<number, SimHostPower>();
  return {
    calls,
    specs,
    power,
    async create(spec) {
      calls.push(`create ${spec.instanceId}`);
      specs.push(spec);
      return {
        sshHost: '127.0.0.1',
        sshPort: await unusedPort(),
        hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3Qta2V5LW5vdC1yZWFs',
      };
    },
    async setPower(id, state) {
      calls.push(`${state} ${id}`);
      power.set(id, state);
    },
    async destroy(id) {
      calls.push(`destroy ${id}`);
      power.delete(id);
    },
  };
}

/** Backoff waits are recorded and return at once, so retry tests take no time. */
export function recordingClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    now: () => Date.now(),
    speed: 1,
    sleeps,
    async sleep(ms) {
      sleeps.push(ms);
    },
  };
}

export interface Harness {
  sim: VastSim;
  hosts: FakeHosts;
  client: VastClient;
  close(): Promise<void>;
}

export async function startHarness(
  simOptions: Partial<VastSimOptions> = {},
  clientOptions: Partial<VastClientOptions> = {},
): Promise<Harness> {
  const hosts = fakeHosts();
  const clock = simOptions.clock ?? manualClock();
  const sim = await startVastSim({ clock, hosts, apiKey: API_KEY, tickIntervalMs: 0, ...simOptions });
  const client = createVastClient({
    baseUrl: sim.url,
    apiKey: API_KEY,
    clock: recordingClock(),
    logger: silentLogger,
    timeoutMs: 2000,
    retries: 0,
    ...clientOptions,
  });
  return { sim, hosts, client, close: () => sim.close() };
}

/** A raw request with no client in between, to check the wire format itself. */
export async function raw(
  sim: VastSim,
  method: string,
  path: string,
  init: { body?: unknown; auth?: 'bearer' | 'query' | 'none'; key?: string } = {},
): Promise<{ status: number; text: string; json: unknown; headers: Headers }> {
  const key = init.key ?? API_KEY;
  const auth = init.auth ?? 'bearer';
  const url = new URL(sim.url + path);
  if (auth === 'query') url.searchParams.set('api_key', key);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth === 'bearer') headers['authorization'] = `Bearer ${key}`;
  const res = await fetch(url, {
    method,
    headers,
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}
