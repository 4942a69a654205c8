import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../cli/main.js';
import { adjustableClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { generateSshKeyPair } from '../infra/ssh/keys.js';
import { createLogger } from '../logger.js';
import { Shutdown } from '../shutdown.js';
import { startSimControl } from './control.js';
import { DEFAULT_SCENARIO, loadScenario } from './scenario.js';
import { startSimWorld } from './world.js';

/** `conductor sim`: the simulated Vast.ai cloud and its SSH hosts, standalone. */
export async function runSim(env: NodeJS.ProcessEnv, args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: 'string' },
      speed: { type: 'string' },
      port: { type: 'string' },
      'control-port': { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig(env);
  const runs = config.fleet.runs.map((r) => r.name);
  const scenario = values.scenario ? loadScenario(values.scenario, runs) : DEFAULT_SCENARIO;
  const clock = adjustableClock(values.speed ? Number(values.speed) : scenario.speed);
  const logger = createLogger({ level: config.logLevel, name: 'sim' });
  const keys = generateSshKeyPair();
  mkdirSync(config.stateDir, { recursive: true });
  const keyFile = path.join(config.stateDir, 'sim_id_ed25519');
  writeFileSync(keyFile, keys.private, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  const world = await startSimWorld({
    clock,
    fleet: config.fleet,
    scenario,
    authorizedKey: keys.public,
    logger,
    ...(config.vast.apiKey && { apiKey: config.vast.apiKey }),
    ...(values.port && { port: Number(values.port) }),
  });
  const control = await startSimControl(
    world,
    clock,
    values['control-port'] ? Number(values['control-port']) : 0,
  );
  const shutdown = new Shutdown(logger);
  shutdown.add('control', () => control.close());
  shutdown.add('world', () => world.close());
  io.out(
    [
      `Simulated Vast.ai API:  VAST_API_URL=${world.vast.url}  VAST_API_KEY=${world.apiKey}`,
      `SSH private key:        SSH_PRIVATE_KEY=${keyFile}`,
      `Control API:            ${control.url}  (GET /hosts, POST /faults {run, fault}, GET|POST /clock {speed})`,
      `Clock:                  ${clock.speed}x, scenario "${scenario.name}"`,
      'Hosts:',
      ...world.vast.control
        .instances()
        .map(
          (i) =>
            `  ${i.id}  ${i.label}  ${i.gpu_name} x${i.num_gpus}  ssh root@${i.ssh_host} -p ${i.ssh_port}`,
        ),
    ].join('\n'),
  );
  return new Promise((resolve) => shutdown.installSignalHandlers((code) => resolve(code)));
}
