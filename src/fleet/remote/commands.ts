import { ValidationError } from '../../errors.js';
import { shellQuote } from '../policy/shell.js';
import { TRAINER_COMMAND_LINE } from '../policy/stop.js';
import { type Paths, SAFE_ABS_PATH, SAFE_REL_PATH } from '../schema.js';
import { checkHubRepo, type HubRepo } from './backup-source.js';
import {
  type CommandTemplate,
  cmd,
  joinTemplates,
  list,
  type SlotsOf,
  type SlotValues,
  word,
} from './template.js';

/**
 * Every command line the conductor sends to a training host, in one place. Builders take
 * validated inputs and return the exact line; values always go through shellQuote (via the
 * templates). The simulated hosts recognise these same templates, and a parity test runs each
 * one against a real OpenSSH + bash host and the simulator and compares the results.
 *
 * Secrets: never on a command line. `writeSecretFile` stores `export NAME='value'` lines sent
 * on stdin into a mode-600 file next to the workspace (`secretEnvFile(paths)`, by default
 * `/workspace/.tc_env`), and `launch` sources that file when present, so the trainer sees e.g.
 * HF_TOKEN. Channel env (ssh `env` requests) also reaches the command when the host's sshd
 * accepts it, but stock OpenSSH drops unknown names silently, so the file is the reliable way.
 *
 * Checkpoints move through the Hugging Face Hub with the `huggingface-cli` the training project
 * already uses (huggingface_hub >= 0.23, where `download --local-dir` writes real files):
 * `backupCheckpoint` uploads `runs/<dir>/<file>` to `<hf_path>/<file>` of the run's repository,
 * `restoreCheckpoint` downloads `<hf_path>/latest.pt` into the run directory. Both source the
 * secret file for HF_TOKEN and run under `timeout`, because OpenSSH leaves a command without a
 * tty running when its channel closes.
 */

/** Marker lines of the probe output: `__TC_PART__ <name>`, then the output, then `__TC_RC__ <name> <code>`. */
export const PROBE_PART_MARK = '__TC_PART__';
export const PROBE_RC_MARK = '__TC_RC__';
/** Last line of a complete probe output: without it the output was cut off. */
export const PROBE_END_MARK = '__TC_END__';

export const PROBE_PARTS = [
  'time',
  'heartbeat',
  'alive',
  'gpu',
  'disk',
  'checkpoints',
  'log',
  'log_mtime',
] as const;
export type ProbePart = (typeof PROBE_PARTS)[number];

export const DEFAULT_PROBE_LOG_LINES = 50;
const MAX_LOG_LINES = 5000;
const MAX_CLEANUP_FILES = 500;
export const NVIDIA_SMI_FIELDS = 'index,utilization.gpu,memory.used,memory.total,temperature.gpu';
/** Only numbered checkpoints may ever be deleted (rule 5 protects latest/best/final by name). */
export const STEP_CHECKPOINT = /^step_[0-9]{1,9}\.pt$/;
const STOP_COMMAND = /^killall -9 ([A-Za-z0-9_.-]{1,15})$/;
/** How often, and how far apart, the stop line looks for a trainer that outlived its SIGKILL (3 s in all). */
export const STOP_POLLS = 10;
const STOP_POLL_SECONDS = '0.3';
const STOP_POLL_LIST = Array.from({ length: STOP_POLLS }, (_, i) => i + 1).join(' ');
/** The stop line's stdout when it killed a trainer and none is left. */
export const STOP_STOPPED = 'stopped';
/** The stop line's stdout when no trainer was running. */
export const STOP_NOT_RUNNING = 'not running';
/** Start of the stop line's stderr (then the pids) when a trainer survived SIGKILL. */
export const STOP_STILL_RUNNING = 'trainer still running after kill -9:';
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;
export const SECRET_ENV_FILE_NAME = '.tc_env';
/** Checkpoints that may be backed up: the named ones and the numbered ones. */
export const BACKUP_CHECKPOINT = /^(?:latest|best|final|step_[0-9]{1,9})\.pt$/;
/** The checkpoint a restore brings back (the trainer resumes from it). */
export const RESTORED_CHECKPOINT = 'latest.pt';
/** Download directory inside the run directory: same filesystem, so the final `mv` is a rename. */
export const RESTORE_TMP_DIR = '.tc_restore';
/** First word of the line `restoreCheckpoint` ends with: `restored <path> <bytes>`. */
export const RESTORED_MARK = 'restored';
export const DEFAULT_TRANSFER_TIMEOUT_S = 3600;
const MAX_TRANSFER_TIMEOUT_S = 24 * 3600;
/** A path inside a hub repository: relative, no dot-files, no `..`, no leading dash. */
const HUB_PATH = /^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
const MAX_HUB_PATH = 200;

// --- the templates -------------------------------------------------------------------------

const HOST_TIME = cmd`date +%s`;
const READ_FILE = cmd`cat ${word('path')}`;
const LOG_TAIL = cmd`tail -n ${word('lines')} ${word('log')}`;
const LOG_MTIME = cmd`stat -c %Y ${word('log')}`;
const NVIDIA_SMI = cmd`nvidia-smi --query-gpu=${word('fields')} --format=csv,noheader,nounits`;
const DISK_USAGE = cmd`df -P ${word('path')}`;
/** GNU find: one `name bytes` line per checkpoint, in directory order. */
const LIST_CHECKPOINTS = cmd`find ${word('dir')} -maxdepth 1 -type f -name '*.pt' -printf '%f %s\n'`;
/** The trainer's command-line pattern as one shell word (single-quoted: it holds `(`, `|`, `$`). */
const TRAINER_MATCH = shellQuote(TRAINER_COMMAND_LINE);
type NoSlots = SlotsOf<never>;
/**
 * Matches the trainer by its command line (TRAINER_COMMAND_LINE): torchrun, its workers and a
 * single-GPU `python3 -u` alike, and exactly what the stop kills. Not `pgrep -x torchrun`:
 * containers often run without an init that reaps zombies, and a killed torchrun left as a zombie
 * still has that name (a zombie has no command line, so `-f` never matches one).
 */
const TRAINER_ALIVE = joinTemplates<NoSlots>([`pgrep -f ${TRAINER_MATCH}`]);
/** The policy's command (rule 4: `killall -9 torchrun`). */
const POLICY_KILL = cmd`killall -9 ${word('process')}`;
/** The narrow kill a single-process (`python3 -u`) trainer needs: the trainer and nothing else. */
const TRAINER_KILL = joinTemplates<NoSlots>([`pkill -9 -f ${TRAINER_MATCH}`]);
/** The pids of trainer processes still there, on one line. */
const TRAINER_PIDS = joinTemplates<NoSlots>([`pgrep -d ' ' -f ${TRAINER_MATCH}`]);
/**
 * Stopping training, in one round trip:
 * 1. look (`pgrep -f`) whether a trainer is running; pgrep itself failing (status 2, 3, 127)
 *    ends the line with its status: without it nothing can be checked;
 * 2. the policy's `killall -9 torchrun`, quiet: on a single-GPU run there is never a torchrun,
 *    and the check below, not killall's status, decides the outcome;
 * 3. `pkill -9 -f` of the trainer's command line: it kills a `python3 -u` trainer (no torchrun
 *    owns it) and any torchrun worker killall left orphaned, and nothing else;
 * 4. wait until no trainer is left, polling STOP_POLLS times STOP_POLL_SECONDS: SIGKILL is
 *    delivered asynchronously, and a process stuck in the kernel (D state) does not die at all.
 * Exit 0 with `stopped` (a trainer was running and none is left) or `not running` (there was
 * none to stop) on stdout; exit 1 with STOP_STILL_RUNNING and the pids on stderr when a trainer
 * survived the kill, so the caller must not launch another one.
 */
const STOP = joinTemplates<{ process: string }>([
  TRAINER_ALIVE as CommandTemplate<SlotValues>,
  ' >/dev/null; was=$?; if [ $was -gt 1 ]; then exit $was; fi; ',
  POLICY_KILL as CommandTemplate<SlotValues>,
  ' 2>/dev/null; ',
  TRAINER_KILL as CommandTemplate<SlotValues>,
  `; for i in ${STOP_POLL_LIST}; do `,
  TRAINER_ALIVE as CommandTemplate<SlotValues>,
  ` >/dev/null; if [ $? -eq 1 ]; then if [ $was -eq 0 ]; then echo ${shellQuote(STOP_STOPPED)}; else echo ${shellQuote(STOP_NOT_RUNNING)}; fi; exit 0; fi; sleep ${STOP_POLL_SECONDS}; done; echo "${STOP_STILL_RUNNING} $(`,
  TRAINER_PIDS as CommandTemplate<SlotValues>,
  ')" >&2; exit 1',
]);
const CLEANUP_CHECKPOINTS = cmd`rm -f ${list('files')}`;
/**
 * `cd || exit` then `&` on the trainer alone: `cd x && nohup ... &` would background the whole
 * list as a subshell that keeps the SSH channel open and makes `$!` the subshell's pid. setsid
 * takes the trainer out of the session's process group, stdin/stdout/stderr leave the channel,
 * so the command returns at once, prints the trainer's pid and the trainer outlives the session.
 * The log is truncated at each launch (the monitor has already read the previous attempt's tail).
 */
const LAUNCH = cmd`cd ${word('workspace')} || exit 1; if [ -f ${word('envFile')} ]; then . ${word('envFile')}; fi; nohup setsid ${list('argv')} > ${word('log')} 2>&1 < /dev/null & echo $!`;
/** The commands inside the stop line, for the simulator to run one by one (as the probe's sections). */
export const STOP_STEPS = {
  check: TRAINER_ALIVE,
  policyKill: POLICY_KILL,
  narrowKill: TRAINER_KILL,
  remaining: TRAINER_PIDS,
} as const;

/** Prints the `n_experts:` value(s) of a config YAML; nothing for a dense model. */
const CONFIG_EXPERTS = cmd`sed -n 's/^[[:space:]]*n_experts:[[:space:]]*\([0-9][0-9]*\).*/\1/p' ${word('file')}`;
/** The content arrives on stdin; umask keeps it private from the first byte. */
const WRITE_SECRET_FILE = cmd`umask 077 && cat > ${word('file')} && chmod 600 ${word('file')}`;

/**
 * `--private` only matters when the repository does not exist yet: checkpoints are never
 * published by accident. `--quiet` leaves stdout with just the URL of the uploaded file.
 */
const BACKUP_CHECKPOINT_CMD = cmd`if [ -f ${word('envFile')} ]; then . ${word('envFile')}; fi; timeout ${word('seconds')} huggingface-cli upload --repo-type ${word('repoType')} --private --quiet ${word('repoId')} ${word('local')} ${word('pathInRepo')}`;
/**
 * Downloads into a directory beside the checkpoint, then renames it over latest.pt, so the run
 * directory never holds a half-written latest.pt; a failed download leaves the old one (if any)
 * untouched and its partial file in the temporary directory, where the next attempt resumes it.
 * Prints the downloaded path (the CLI), then `restored <path> <bytes>`.
 */
const RESTORE_CHECKPOINT_CMD = cmd`if [ -f ${word('envFile')} ]; then . ${word('envFile')}; fi; mkdir -p ${word('tmpDir')} && timeout ${word('seconds')} huggingface-cli download --repo-type ${word('repoType')} --quiet --local-dir ${word('tmpDir')} ${word('repoId')} ${word('pathInRepo')} && mv -f ${word('downloaded')} ${word('target')} && rm -rf ${word('tmpDir')} && stat -c 'restored %n %s' ${word('target')}`;

/** The probe's sections in output order, each a template whose holes are holes of the probe. */
export const PROBE_SECTIONS = [
  { part: 'time', template: HOST_TIME },
  { part: 'heartbeat', template: cmd`cat ${word('heartbeat')}` },
  { part: 'alive', template: TRAINER_ALIVE },
  { part: 'gpu', template: NVIDIA_SMI },
  { part: 'disk', template: cmd`df -P ${word('workspace')}` },
  {
    part: 'checkpoints',
    template: cmd`find ${word('runPath')} -maxdepth 1 -type f -name '*.pt' -printf '%f %s\n'`,
  },
  { part: 'log', template: cmd`tail -n ${word('lines')} ${word('log')}` },
  { part: 'log_mtime', template: LOG_MTIME },
] as const satisfies readonly { part: ProbePart; template: CommandTemplate<SlotValues> }[];

export interface ProbeSlots extends SlotValues {
  heartbeat: string;
  fields: string;
  workspace: string;
  runPath: string;
  lines: string;
  log: string;
}

/** One round trip, read-only; each section's stdout+stderr and exit code are kept apart. */
const PROBE = joinTemplates<ProbeSlots>(
  PROBE_SECTIONS.flatMap(({ part, template }) => [
    `echo ${PROBE_PART_MARK} ${part}; { `,
    template as CommandTemplate<SlotValues>,
    `; } 2>&1; printf '\\n${PROBE_RC_MARK} ${part} %d\\n' $?; `,
  ]).concat([`echo ${PROBE_END_MARK}`]),
);

/** Every template by command name: the simulator matches against these. */
export const REMOTE_TEMPLATES = {
  probe: PROBE,
  hostTime: HOST_TIME,
  readFile: READ_FILE,
  logTail: LOG_TAIL,
  logMtime: LOG_MTIME,
  nvidiaSmi: NVIDIA_SMI,
  diskUsage: DISK_USAGE,
  listCheckpoints: LIST_CHECKPOINTS,
  trainerAlive: TRAINER_ALIVE,
  stop: STOP,
  cleanupCheckpoints: CLEANUP_CHECKPOINTS,
  launch: LAUNCH,
  configExperts: CONFIG_EXPERTS,
  writeSecretFile: WRITE_SECRET_FILE,
  backupCheckpoint: BACKUP_CHECKPOINT_CMD,
  restoreCheckpoint: RESTORE_CHECKPOINT_CMD,
} as const;

export type RemoteCommandName = keyof typeof REMOTE_TEMPLATES;
export type RemoteTemplateSlots<K extends RemoteCommandName> =
  (typeof REMOTE_TEMPLATES)[K] extends CommandTemplate<infer S> ? S : never;

/** Commands that read their standard input (the caller must send it and then EOF). */
export const STDIN_COMMANDS: readonly RemoteCommandName[] = ['writeSecretFile'];

// --- validation ----------------------------------------------------------------------------

function invalid(what: string, value: unknown, why: string): ValidationError {
  return new ValidationError(`${what} ${JSON.stringify(value)} ${why}`);
}

function absPath(what: string, value: string): string {
  if (typeof value !== 'string' || !SAFE_ABS_PATH.test(value)) {
    throw invalid(what, value, 'is not an absolute path of letters, digits, . _ - /');
  }
  return value;
}

function relPath(what: string, value: string): string {
  if (typeof value !== 'string' || !SAFE_REL_PATH.test(value) || value.startsWith('-')) {
    throw invalid(what, value, 'is not a relative path of letters, digits, . _ - /');
  }
  return value;
}

function checkPaths(paths: Paths): Paths {
  return { workspace: absPath('workspace', paths.workspace), log: absPath('log path', paths.log) };
}

function lineCount(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_LOG_LINES) {
    throw invalid('line count', n, `is not an integer from 1 to ${MAX_LOG_LINES}`);
  }
  return String(n);
}

function joinPath(dir: string, rel: string): string {
  return `${dir.replace(/\/+$/, '')}/${rel}`;
}

/** Where `writeSecretFile` puts secrets and `launch` reads them: beside the workspace, not in it. */
export function secretEnvFile(paths: Paths): string {
  const ws = absPath('workspace', paths.workspace);
  const parent = ws.slice(0, ws.lastIndexOf('/'));
  return `${parent}/${SECRET_ENV_FILE_NAME}`;
}

/** The body for `writeSecretFile`: `export NAME='value'` lines, values quoted for sh. */
export function renderSecretEnvFile(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!ENV_NAME.test(name)) throw invalid('environment variable name', name, 'is not NAME_LIKE_THIS');
      if (/[\0\n\r]/.test(value)) throw new ValidationError(`value of ${name} contains a NUL or newline`);
      return `export ${name}='${value.replace(/'/g, `'\\''`)}'\n`;
    })
    .join('');
}

function hubPath(what: string, value: string): string {
  if (typeof value !== 'string' || value.length > MAX_HUB_PATH || !HUB_PATH.test(value)) {
    throw invalid(
      what,
      value,
      'is not a relative hub path of letters, digits, . _ - / (no leading dot or dash, no ..)',
    );
  }
  return value;
}

function transferSeconds(timeoutS: number): string {
  if (!Number.isSafeInteger(timeoutS) || timeoutS < 1 || timeoutS > MAX_TRANSFER_TIMEOUT_S) {
    throw invalid(
      'transfer timeout',
      timeoutS,
      `is not a whole number of seconds from 1 to ${MAX_TRANSFER_TIMEOUT_S}`,
    );
  }
  return String(timeoutS);
}

function checkArgv(argv: readonly string[]): readonly string[] {
  if (!Array.isArray(argv) || argv.length === 0) throw invalid('trainer argv', argv, 'is empty');
  for (const arg of argv) {
    if (typeof arg !== 'string' || arg === '' || /[\0\n\r]/.test(arg)) {
      throw invalid('trainer argument', arg, 'is empty or contains a NUL or newline');
    }
  }
  if ((argv[0] ?? '').startsWith('-')) throw invalid('trainer program', argv[0], 'looks like an option');
  return argv;
}

// --- the builders --------------------------------------------------------------------------

export interface ProbeOptions {
  /** Lines of the training log to return (default 50). */
  logLines?: number;
}

export interface TransferOptions {
  /** Seconds the hub CLI may run before `timeout` ends it (default 3600). */
  timeoutS?: number;
}

export const REMOTE_COMMANDS = {
  /** Host time, heartbeat, trainer alive, GPUs, disk, checkpoints, log tail and log mtime. */
  probe(paths: Paths, runDir: string, options: ProbeOptions = {}): string {
    const p = checkPaths(paths);
    const runPath = joinPath(p.workspace, relPath('run dir', runDir));
    return PROBE.render({
      heartbeat: `${runPath}/heartbeat.json`,
      fields: NVIDIA_SMI_FIELDS,
      workspace: p.workspace,
      runPath,
      lines: lineCount(options.logLines ?? DEFAULT_PROBE_LOG_LINES),
      log: p.log,
    });
  },
  hostTime(): string {
    return HOST_TIME.render({});
  },
  readFile(path: string): string {
    return READ_FILE.render({ path: absPath('file', path) });
  },
  logTail(log: string, lines: number): string {
    return LOG_TAIL.render({ lines: lineCount(lines), log: absPath('log path', log) });
  },
  logMtime(log: string): string {
    return LOG_MTIME.render({ log: absPath('log path', log) });
  },
  nvidiaSmi(): string {
    return NVIDIA_SMI.render({ fields: NVIDIA_SMI_FIELDS });
  },
  diskUsage(path: string): string {
    return DISK_USAGE.render({ path: absPath('path', path) });
  },
  listCheckpoints(paths: Paths, runDir: string): string {
    const p = checkPaths(paths);
    return LIST_CHECKPOINTS.render({ dir: joinPath(p.workspace, relPath('run dir', runDir)) });
  },
  trainerAlive(): string {
    return TRAINER_ALIVE.render({});
  },
  /**
   * Stops the trainer: the policy's `stopCommand` (`killall -9 torchrun`; only `killall -9 <name>`
   * is accepted), then the narrow kill of a single-process trainer, then a check that none is
   * left. Exit 0 = no trainer left (`parseStopOutput` says whether one was stopped); exit 1 = a
   * trainer survived (see STOP above).
   */
  stop(stopCommand: string): string {
    const m = STOP_COMMAND.exec(String(stopCommand).trim().replace(/\s+/g, ' '));
    if (!m) throw invalid('stop command', stopCommand, 'is not `killall -9 <process name>`');
    return STOP.render({ process: m[1]! });
  },
  /** Deletes exactly these numbered checkpoints of the run; any other name is refused. */
  cleanupCheckpoints(paths: Paths, runDir: string, files: readonly string[]): string {
    const p = checkPaths(paths);
    const runPath = joinPath(p.workspace, relPath('run dir', runDir));
    if (!Array.isArray(files) || files.length === 0) throw invalid('checkpoint list', files, 'is empty');
    if (files.length > MAX_CLEANUP_FILES) throw invalid('checkpoint list', files.length, 'is too long');
    for (const f of files) {
      if (typeof f !== 'string' || !STEP_CHECKPOINT.test(f)) {
        throw invalid('checkpoint', f, 'is not a step_<N>.pt file (latest/best/final are never deleted)');
      }
    }
    return CLEANUP_CHECKPOINTS.render({ files: [...new Set(files)].map((f) => `${runPath}/${f}`) });
  },
  /** Starts `argv` (from the launch policy) detached in the workspace; prints the trainer's pid. */
  launch(paths: Paths, argv: readonly string[]): string {
    const p = checkPaths(paths);
    return LAUNCH.render({
      workspace: p.workspace,
      envFile: secretEnvFile(p),
      argv: checkArgv(argv),
      log: p.log,
    });
  },
  /** Prints the config's `n_experts` (nothing for a dense model). */
  configExperts(paths: Paths, config: string): string {
    const p = checkPaths(paths);
    return CONFIG_EXPERTS.render({ file: joinPath(p.workspace, relPath('config', config)) });
  },
  /** Send `renderSecretEnvFile(env)` as stdin; the file becomes mode 600. */
  writeSecretFile(paths: Paths): string {
    return WRITE_SECRET_FILE.render({ file: secretEnvFile(checkPaths(paths)) });
  },
  /** Uploads `runs/<dir>/<file>` to `<hfPath>/<file>` in `repo`; HF_TOKEN comes from the secret file. */
  backupCheckpoint(
    paths: Paths,
    runDir: string,
    repo: HubRepo,
    hfPath: string,
    file: string,
    options: TransferOptions = {},
  ): string {
    const p = checkPaths(paths);
    const runPath = joinPath(p.workspace, relPath('run dir', runDir));
    const { repoType, repoId } = checkHubRepo(repo);
    if (typeof file !== 'string' || !BACKUP_CHECKPOINT.test(file)) {
      throw invalid('checkpoint', file, 'is not latest.pt, best.pt, final.pt or step_<N>.pt');
    }
    return BACKUP_CHECKPOINT_CMD.render({
      envFile: secretEnvFile(p),
      seconds: transferSeconds(options.timeoutS ?? DEFAULT_TRANSFER_TIMEOUT_S),
      repoType,
      repoId,
      local: `${runPath}/${file}`,
      pathInRepo: `${hubPath('hf_path', hfPath)}/${file}`,
    });
  },
  /** Downloads `<hfPath>/latest.pt` of `repo` into the run directory, atomically; prints its size. */
  restoreCheckpoint(
    paths: Paths,
    runDir: string,
    repo: HubRepo,
    hfPath: string,
    options: TransferOptions = {},
  ): string {
    const p = checkPaths(paths);
    const runPath = joinPath(p.workspace, relPath('run dir', runDir));
    const { repoType, repoId } = checkHubRepo(repo);
    const tmpDir = `${runPath}/${RESTORE_TMP_DIR}`;
    const pathInRepo = `${hubPath('hf_path', hfPath)}/${RESTORED_CHECKPOINT}`;
    return RESTORE_CHECKPOINT_CMD.render({
      envFile: secretEnvFile(p),
      tmpDir,
      seconds: transferSeconds(options.timeoutS ?? DEFAULT_TRANSFER_TIMEOUT_S),
      repoType,
      repoId,
      pathInRepo,
      downloaded: `${tmpDir}/${pathInRepo}`,
      target: `${runPath}/${RESTORED_CHECKPOINT}`,
    });
  },
} as const satisfies Record<RemoteCommandName, (...args: never[]) => string>;

export type StopOutcome = 'stopped' | 'not_running';

/** What a stop line that exited 0 reports; null for any other output (not our line's). */
export function parseStopOutput(stdout: string): StopOutcome | null {
  const line = stdout.trim();
  if (line === STOP_STOPPED) return 'stopped';
  if (line === STOP_NOT_RUNNING) return 'not_running';
  return null;
}
