import http from 'node:http';
import { z } from 'zod';
import type { AdjustableClock } from '../clock.js';
import { ScenarioSchema } from './scenario.js';
import type { SimWorld } from './world.js';

const FaultRequest = z
  .object({
    run: z.string(),
    fault: ScenarioSchema.shape.faults.unwrap().element.shape.fault,
    pct: z.number().min(1).max(100).optional(),
  })
  .strict();
const ClockRequest = z.object({ speed: z.number().positive().max(100_000) }).strict();

/**
 * The simulator's control API on loopback: GET /hosts, POST /faults {run, fault, pct?},
 * GET|POST /clock {speed}. The Vast side has its own under the Vast API's /_sim/.
 */
export async function startSimControl(world: SimWorld, clock: AdjustableClock, port = 0) {
  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      let raw = '';
      for await (const chunk of req) {
        raw += chunk;
        if (raw.length > 64 * 1024) return send(413, { error: 'body too large' });
      }
      const body = raw ? JSON.parse(raw) : {};
      if (req.method === 'GET' && req.url === '/hosts') {
        return send(
          200,
          world.vast.control.instances().map((i) => ({
            id: i.id,
            label: i.label,
            status: i.actual_status,
            ssh: i.ssh_port ? `${i.ssh_host}:${i.ssh_port}` : null,
            gpu: `${i.gpu_name} x${i.num_gpus}`,
            trainer: world.hosts.get(i.id)?.trainerStatus() ?? null,
          })),
        );
      }
      if (req.method === 'POST' && req.url === '/faults') {
        const parsed = FaultRequest.safeParse(body);
        if (!parsed.success) return send(400, { error: parsed.error.issues[0]?.message ?? 'invalid' });
        await world.inject(parsed.data.run, parsed.data.fault, parsed.data.pct);
        return send(200, { ok: true });
      }
      if (req.url === '/clock') {
        if (req.method === 'POST') {
          const parsed = ClockRequest.safeParse(body);
          if (!parsed.success) return send(400, { error: parsed.error.issues[0]?.message ?? 'invalid' });
          clock.setSpeed(parsed.data.speed);
        }
        return send(200, { now: new Date(clock.now()).toISOString(), speed: clock.speed });
      }
      return send(404, { error: 'not found' });
    } catch (err) {
      return send(400, { error: (err as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
