import { ConductorError } from '../../src/errors.js';
import type { ProbeResult } from '../../src/fleet/health/types.js';
import { stopCommand } from '../../src/fleet/policy/stop.js';
import {
  parseConfigExperts,
  parseLaunchPid,
  parseLines,
  parseProbeOutput,
  probeOutputComplete,
  REMOTE_COMMANDS,
  renderSecretEnvFile,
} from '../../src/fleet/remote/index.js';
import type { Paths, Policy, RunSpec } from '../../src/fleet/schema.js';
import type { ExecResult, SshPool, SshTarget } from '../../src/infra/ssh/types.js';

/**
 * What the healer and ops agents do on a training host, as one small interface. The real
 * implementation below sends the command templates of src/fleet/remote over the SSH pool; tests
 * may put a fake behind it. Nothing here decides anything: the agents check the policy first.
 */
export interface HostCommands {
  /** One read-only round trip: host clock, heartbeat, trainer alive, disk, checkpoints, log tail. */
  probe(target: SshTarget, run: RunSpec): Promise<ProbeResult>;
  /** Stops training with the policy's command (rule 4). No trainer running is not an error. */
  stop(target: SshTarget): Promise<void>;
  /** Deletes these numbered checkpoints (bare `step_<N>.pt` names) from the run directory. */
  cleanupCheckpoints(target: SshTarget, run: RunSpec, files: readonly string[]): Promise<void>;
  /** `n_experts` of `config` on the host; null for a config without experts (dense). */
  configExperts(target: SshTarget, config: string): Promise<number | null>;
  /** Starts the trainer detached (secrets go through a private file, never the command line). */
  launch(target: SshTarget, argv: readonly string[]): Promise<{ pid: number | null }>;
  logTail(target: SshTarget, lines: number): Promise<string[]>;
  /** Connects once to a freshly rented host and pins the key it presents. */
  pinHostKey(target: SshTarget): Promise<void>;
  /** Puts the run's latest.pt from `from` onto `to`. */
  copyCheckpoint(from: SshTarget, to: SshTarget, run: RunSpec): Promise<void>;
  /** Restores the run's latest.pt on `to` from the run's backup_source. */
  restoreCheckpoint(to: SshTarget, run: RunSpec, source: string): Promise<void>;
  /** Copies `file` (e.g. final.pt) of the run from `from` to the run's backup_source. */
  backupCheckpoint(from: SshTarget, run: RunSpec, file: string, destination: string): Promise<void>;
}

/** A remote command that ran but failed (non-zero exit, cut-off output). */
export class RemoteCommandError extends ConductorError {
  override readonly name = 'RemoteCommandError';
}

export interface SshHostCommandsOptions {
  ssh: Pick<SshPool, 'exec'>;
  paths: Paths;
  policy: Pick<Policy, 'stop_command'>;
  /** Environment the trainer needs (e.g. HF_TOKEN): written to a mode-600 file through stdin. */
  secrets?: Readonly<Record<string, string>>;
  /** Real ms each command may take (default 30 s). */
  timeoutMs?: number;
}

const PROBE_MAX_BYTES = 512 * 1024;
const LOG_MAX_BYTES = 2 * 1024 * 1024;

function describe(what: string, target: SshTarget, result: ExecResult): string {
  const why = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
  return `${what} on ${target.host}:${target.port} exited with ${result.code ?? result.signal ?? 'no status'}${why ? `: ${why}` : ''}`;
}

export function sshHostCommands(options: SshHostCommandsOptions): HostCommands {
  const { ssh, paths } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const secrets = options.secrets ?? {};

  async function run(target: SshTarget, what: string, command: string, okCodes: readonly number[] = [0]) {
    const result = await ssh.exec(target, command, { timeoutMs });
    if (result.code === null || !okCodes.includes(result.code)) {
      throw new RemoteCommandError(describe(what, target, result));
    }
    return result;
  }

  return {
    async probe(target, spec) {
      const result = await ssh.exec(target, REMOTE_COMMANDS.probe(paths, spec.run_dir), {
        timeoutMs,
        maxOutputBytes: PROBE_MAX_BYTES,
      });
      if (!probeOutputComplete(result.stdout)) {
        throw new RemoteCommandError(describe('probe (cut off)', target, result));
      }
      return parseProbeOutput(result.stdout);
    },
    async stop(target) {
      // killall exits 1 when no such process is running: already stopped is fine.
      await run(target, 'stop', REMOTE_COMMANDS.stop(stopCommand(options.policy)), [0, 1]);
    },
    async cleanupCheckpoints(target, spec, files) {
      if (files.length === 0) return;
      await run(
        target,
        'checkpoint clean-up',
        REMOTE_COMMANDS.cleanupCheckpoints(paths, spec.run_dir, files),
      );
    },
    async configExperts(target, config) {
      const result = await run(target, 'config check', REMOTE_COMMANDS.configExperts(paths, config));
      return parseConfigExperts(result.stdout);
    },
    async launch(target, argv) {
      if (Object.keys(secrets).length > 0) {
        const write = await ssh.exec(target, REMOTE_COMMANDS.writeSecretFile(paths), {
          timeoutMs,
          stdin: renderSecretEnvFile(secrets),
        });
        // The error text may not echo stdin, but say nothing about it anyway.
        if (write.code !== 0)
          throw new RemoteCommandError(`writing the secret file on ${target.host} failed`);
      }
      const result = await run(target, 'launch', REMOTE_COMMANDS.launch(paths, argv));
      return { pid: parseLaunchPid(result.stdout) };
    },
    async logTail(target, lines) {
      const result = await ssh.exec(target, REMOTE_COMMANDS.logTail(paths.log, lines), {
        timeoutMs,
        maxOutputBytes: LOG_MAX_BYTES,
      });
      if (result.code !== 0) throw new RemoteCommandError(describe('log tail', target, result));
      return parseLines(result.stdout);
    },
    async pinHostKey(target) {
      await ssh.exec(target, REMOTE_COMMANDS.hostTime(), { timeoutMs, learnHostKey: true });
    },
    async copyCheckpoint(from, to) {
      // The SSH pool buffers output, so it cannot stream a multi-GB file between two hosts, and
      // the template registry has no host-to-host transfer yet.
      throw new RemoteCommandError(
        `no remote template copies a checkpoint from ${from.host} to ${to.host} yet: restore from backup_source instead`,
      );
    },
    async restoreCheckpoint(to, _spec, source) {
      throw new RemoteCommandError(
        `no remote template restores a checkpoint from ${source} onto ${to.host} yet`,
      );
    },
    async backupCheckpoint(from, _spec, file, destination) {
      throw new RemoteCommandError(
        `no remote template backs up ${file} from ${from.host} to ${destination} yet`,
      );
    },
  };
}
