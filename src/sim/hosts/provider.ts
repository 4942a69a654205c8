import type { Clock } from '../../clock.js';
import { ValidationError } from '../../errors.js';
import type { Paths } from '../../fleet/schema.js';
import type { Logger } from '../../logger.js';
import type { SimHostEndpoint, SimHostPower, SimHostProvider, SimHostSpec } from '../types.js';
import { type SimFault, SimHost } from './host.js';
import { SimHub } from './hub.js';
import { commandReadsStdin } from './shell.js';
import { generateHostKey, parsePublicKey, SimSshEndpoint } from './ssh-server.js';

export interface SimHostsOptions {
  clock: Clock;
  /** The one OpenSSH public key line every host accepts. */
  authorizedKey: string;
  logger: Logger;
  /** Workspace and log paths on the hosts (default /workspace/mosaic-gpt, /workspace/training.log). */
  paths?: Paths;
  /** Clock time a trainer spends loading before its first step (default 30 s). */
  startupMs?: number;
  /** Address the SSH endpoints listen on (default 127.0.0.1). */
  bindHost?: string;
}

export interface SimHosts extends SimHostProvider {
  /** The Hugging Face Hub all these hosts upload to and download from. */
  readonly hub: SimHub;
  get(instanceId: number): SimHost | undefined;
  list(): SimHost[];
  inject(instanceId: number, fault: SimFault): void;
  /** Closes every endpoint (hosts and their files stay in memory until dropped). */
  closeAll(): Promise<void>;
}

const DEFAULT_PATHS: Paths = { workspace: '/workspace/mosaic-gpt', log: '/workspace/training.log' };
const DEFAULT_STARTUP_MS = 30_000;

interface Entry {
  host: SimHost;
  ssh: SimSshEndpoint;
  endpoint: SimHostEndpoint;
}

/**
 * Simulated training hosts, each a real SSH server on its own loopback port with its own
 * ed25519 host key, running the simulated trainer against the injected clock. Idle hosts cost
 * a listening socket and a few kilobytes: nothing ticks.
 */
export function createSimHosts(options: SimHostsOptions): SimHosts {
  const allowed = parsePublicKey(options.authorizedKey);
  const paths = options.paths ?? DEFAULT_PATHS;
  const bindHost = options.bindHost ?? '127.0.0.1';
  const log = options.logger;
  const entries = new Map<number, Entry>();
  const hub = new SimHub();

  const entry = (id: number): Entry => {
    const e = entries.get(id);
    if (!e) throw new ValidationError(`no simulated host ${id}`);
    return e;
  };

  return {
    hub,
    async create(spec: SimHostSpec): Promise<SimHostEndpoint> {
      if (entries.has(spec.instanceId)) throw new ValidationError(`simulated host ${spec.instanceId} exists`);
      const host = new SimHost({
        spec,
        clock: options.clock,
        paths,
        startupMs: options.startupMs ?? DEFAULT_STARTUP_MS,
        hub,
      });
      const key = generateHostKey();
      const ssh = new SimSshEndpoint(
        key.privateKey,
        allowed,
        {
          readsStdin: commandReadsStdin,
          run: (command, stdin, env) => host.exec(command, { stdin, env }),
          onEnv: (env) => host.recordEnv(env),
        },
        log,
      );
      host.onSshHang = (hang) => {
        ssh.hang = hang;
        if (!hang) ssh.dropConnections();
      };
      const port = await ssh.listen(bindHost);
      const endpoint: SimHostEndpoint = { sshHost: bindHost, sshPort: port, hostKey: key.publicKey };
      entries.set(spec.instanceId, { host, ssh, endpoint });
      log.debug(
        { instanceId: spec.instanceId, port, gpu: spec.gpuName, gpus: spec.numGpus },
        'sim host created',
      );
      return endpoint;
    },

    async setPower(instanceId: number, power: SimHostPower): Promise<void> {
      const { host, ssh } = entry(instanceId);
      if (power === 'stopped') {
        host.powerOff();
        await ssh.close();
      } else {
        host.powerOn();
        await ssh.listen(bindHost);
      }
      log.debug({ instanceId, power }, 'sim host power');
    },

    async destroy(instanceId: number): Promise<void> {
      const e = entries.get(instanceId);
      if (!e) return;
      entries.delete(instanceId);
      e.host.powerOff();
      await e.ssh.close();
      log.debug({ instanceId }, 'sim host destroyed');
    },

    get: (instanceId) => entries.get(instanceId)?.host,
    list: () => [...entries.values()].map((e) => e.host),

    inject(instanceId: number, fault: SimFault): void {
      entry(instanceId).host.inject(fault);
      log.debug({ instanceId, fault: fault.kind }, 'sim host fault injected');
    },

    async closeAll(): Promise<void> {
      await Promise.all([...entries.values()].map((e) => e.ssh.close()));
    },
  };
}
