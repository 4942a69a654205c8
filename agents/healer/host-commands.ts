import { ConductorError, ConfigError } from '../../src/errors.js';
import type { ProbeResult } from '../../src/fleet/health/types.js';
import { stopCommand } from '../../src/fleet/policy/stop.js';
import { parseStopOutput } from '../../src/fleet/remote/commands.js';
import {
  type HubRepo,
  parseBackupSource,
  parseConfigExperts,
  parseLaunchPid,
  parseLines,
  parseProbeOutput,
  parseRestoreOutput,
  probeOutputComplete,
  REMOTE_COMMANDS,
  RESTORED_CHECKPOINT,
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
  /**
   * Stops training: the policy's command (rule 4) plus the narrow kill of a single-process
   * trainer. Resolves once no trainer is left (none running is not an error); rejects with
   * RemoteCommandError when one survived the kill, so the caller must not launch another.
   */
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
  /**
   * Puts the run's latest.pt from `from` onto `to`, through the run's backup_source: `from`
   * uploads it to `<hf_path>/latest.pt` there, `to` downloads it (the SSH pool buffers output,
   * so the Hub is the transfer medium). Fails without a backup_source.
   */
  copyCheckpoint(from: SshTarget, to: SshTarget, run: RunSpec): Promise<void>;
  /** Restores the run's latest.pt on `to` from `<hf_path>/latest.pt` of `source` (an hf:// backup_source). */
  restoreCheckpoint(to: SshTarget, run: RunSpec, source: string): Promise<void>;
  /** Uploads `file` (e.g. final.pt) of the run on `from` to `<hf_path>/<file>` of `destination` (an hf:// backup_source). */
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
  /**
   * Real ms a checkpoint upload or download may take (default 60 min, at most 24 h). The host's `timeout`
   * ends the CLI at the same bound, since a closed channel does not stop it.
   */
  transferTimeoutMs?: number;
}

const PROBE_MAX_BYTES = 512 * 1024;
const LOG_MAX_BYTES = 2 * 1024 * 1024;
const DEFAULT_TRANSFER_TIMEOUT_MS = 60 * 60_000;
/** The SSH exec outlives the remote `timeout` by this much, so the host's own error comes back. */
const TRANSFER_SLACK_MS = 30_000;

function describe(what: string, target: SshTarget, result: ExecResult): string {
  const why = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
  return `${what} on ${target.host}:${target.port} exited with ${result.code ?? result.signal ?? 'no status'}${why ? `: ${why}` : ''}`;
}

/** Exit status of coreutils `timeout` when it had to end the command. */
const TIMEOUT_EXIT = 124;

/** The exception line of a Python traceback (`huggingface_hub.errors.X: 401 Client Error...`). */
function pythonException(stderr: string): string | null {
  const lines = stderr.split('\n').filter((l) => /^[A-Za-z_][\w.]*(?:Error|Exception|Interrupt)\b/.test(l));
  return lines.at(-1)?.trim() ?? null;
}

/** The run's hub repository; a missing or malformed backup_source is a configuration error. */
function backupRepo(spec: RunSpec, source: string | undefined): HubRepo {
  if (!source) {
    throw new ConfigError(
      `${spec.name} has no backup_source: checkpoints move between hosts through its Hugging Face repository (hf://<owner>/<repo>)`,
    );
  }
  return parseBackupSource(source);
}

export function sshHostCommands(options: SshHostCommandsOptions): HostCommands {
  const { ssh, paths } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const secrets = options.secrets ?? {};
  const transferMs = options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS;
  const transfer = { timeoutS: Math.max(1, Math.ceil(transferMs / 1000)) };

  async function run(target: SshTarget, what: string, command: string, okCodes: readonly number[] = [0]) {
    const result = await ssh.exec(target, command, { timeoutMs });
    if (result.code === null || !okCodes.includes(result.code)) {
      throw new RemoteCommandError(describe(what, target, result));
    }
    return result;
  }

  /** The secret file (HF_TOKEN) the trainer and the hub CLI source; none configured, none written. */
  async function writeSecrets(target: SshTarget): Promise<void> {
    if (Object.keys(secrets).length === 0) return;
    const write = await ssh.exec(target, REMOTE_COMMANDS.writeSecretFile(paths), {
      timeoutMs,
      stdin: renderSecretEnvFile(secrets),
    });
    // The error text may not echo stdin, but say nothing about it anyway.
    if (write.code !== 0) throw new RemoteCommandError(`writing the secret file on ${target.host} failed`);
  }

  /** Runs a hub CLI transfer; a failure names the CLI's exception, not just its last lines. */
  async function runTransfer(target: SshTarget, what: string, command: string): Promise<ExecResult> {
    const result = await ssh.exec(target, command, { timeoutMs: transferMs + TRANSFER_SLACK_MS });
    if (result.code === 0) return result;
    const exception = pythonException(result.stderr);
    const timedOut = result.code === TIMEOUT_EXIT ? ` (timed out after ${transfer.timeoutS} s)` : '';
    throw new RemoteCommandError(
      `${describe(what, target, result)}${timedOut}${exception ? ` [${exception}]` : ''}`,
    );
  }

  async function upload(target: SshTarget, spec: RunSpec, repo: HubRepo, file: string): Promise<void> {
    const command = REMOTE_COMMANDS.backupCheckpoint(paths, spec.run_dir, repo, spec.hf_path, file, transfer);
    await writeSecrets(target);
    await runTransfer(target, `uploading ${file} to ${repo.repoId}`, command);
  }

  async function download(target: SshTarget, spec: RunSpec, repo: HubRepo): Promise<void> {
    const command = REMOTE_COMMANDS.restoreCheckpoint(paths, spec.run_dir, repo, spec.hf_path, transfer);
    await writeSecrets(target);
    const what = `restoring ${RESTORED_CHECKPOINT} from ${repo.repoId}`;
    const result = await runTransfer(target, what, command);
    const restored = parseRestoreOutput(result.stdout);
    if (!restored || restored.bytes === 0) {
      throw new RemoteCommandError(
        `${describe(what, target, result)}, but it did not report a non-empty checkpoint`,
      );
    }
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
      const result = await run(target, 'stop', REMOTE_COMMANDS.stop(stopCommand(options.policy)));
      // Exit 0 is only trusted with the line's own report (`stopped` or `not running`).
      if (parseStopOutput(result.stdout) === null) {
        throw new RemoteCommandError(describe('stop (no outcome reported)', target, result));
      }
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
      await writeSecrets(target);
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
    async copyCheckpoint(from, to, spec) {
      const repo = backupRepo(spec, spec.backup_source);
      await upload(from, spec, repo, RESTORED_CHECKPOINT);
      await download(to, spec, repo);
    },
    async restoreCheckpoint(to, spec, source) {
      await download(to, spec, backupRepo(spec, source));
    },
    async backupCheckpoint(from, spec, file, destination) {
      await upload(from, spec, backupRepo(spec, destination), file);
    },
  };
}
