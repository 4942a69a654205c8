import {
  PROBE_END_MARK,
  PROBE_PART_MARK,
  PROBE_RC_MARK,
  PROBE_SECTIONS,
  REMOTE_TEMPLATES,
  type RemoteCommandName,
  type RemoteTemplateSlots,
  STDIN_COMMANDS,
  STOP_NOT_RUNNING,
  STOP_POLLS,
  STOP_STEPS,
  STOP_STILL_RUNNING,
  STOP_STOPPED,
} from '../../fleet/remote/commands.js';
import type { CommandTemplate, SlotValues } from '../../fleet/remote/template.js';
import type { Paths } from '../../fleet/schema.js';
import { BUILTINS, type BuiltinHost, type ExecOutput, HOME, type ShellState } from './builtins.js';
import type { SimHub } from './hub.js';
import { type HubCliContext, type HubTarget, hubDownload, hubUpload } from './hub-cli.js';
import { entrySize, normalizePath, parentOf } from './vfs.js';

/**
 * The command interpreter of a simulated host. A line that one of the conductor's templates
 * rendered is recognised by that template (same object, so the two cannot drift) and executed
 * for what it means; any other line must be a simple command or a `;` / `&&` / `||` list of
 * them, run by the builtins. Unknown programs fail as bash does: `command not found`, 127.
 */

export interface ShellHost extends BuiltinHost {
  /** Starts the trainer detached; returns its pid. */
  launchTrainer(argv: readonly string[], env: Readonly<Record<string, string>>, paths: Paths): number;
  /** A pid for a background job that died at once. */
  allocatePid(): number;
  /** The Hugging Face Hub every host of the simulation shares. */
  readonly hub: SimHub;
  /** Environment every process in the container starts with (given at rent). */
  containerEnv(): Readonly<Record<string, string>>;
}

export interface ExecRequest {
  command: string;
  stdin?: string;
  /** Environment the SSH channel delivered. */
  env?: Readonly<Record<string, string>>;
}

type Handler<K extends RemoteCommandName> = (
  host: ShellHost,
  slots: RemoteTemplateSlots<K>,
  req: ExecRequest,
) => ExecOutput;

const asSimple = (host: ShellHost, _slots: unknown, req: ExecRequest) =>
  runSimple(host, req.command, req.stdin ?? '');

/** Every template must have a handler here: the type makes a new template a compile error until it has one. */
const TEMPLATE_HANDLERS: { [K in RemoteCommandName]: Handler<K> } = {
  probe: runProbe,
  hostTime: asSimple,
  readFile: asSimple,
  logTail: asSimple,
  logMtime: asSimple,
  nvidiaSmi: asSimple,
  diskUsage: asSimple,
  listCheckpoints: asSimple,
  trainerAlive: asSimple,
  stop: runStop,
  cleanupCheckpoints: asSimple,
  launch: runLaunch,
  configExperts: runConfigExperts,
  writeSecretFile: runWriteSecretFile,
  backupCheckpoint: runBackupCheckpoint,
  restoreCheckpoint: runRestoreCheckpoint,
};

const TEMPLATE_NAMES = Object.keys(REMOTE_TEMPLATES) as RemoteCommandName[];

/** The template that rendered `command`, if any. */
export function recogniseTemplate(command: string): RemoteCommandName | null {
  return TEMPLATE_NAMES.find((name) => REMOTE_TEMPLATES[name].match(command) !== null) ?? null;
}

/** Whether the command reads its stdin (the SSH server then waits for EOF before running it). */
export function commandReadsStdin(command: string): boolean {
  const name = recogniseTemplate(command);
  return name !== null && STDIN_COMMANDS.includes(name);
}

function tryTemplate<K extends RemoteCommandName>(
  host: ShellHost,
  name: K,
  req: ExecRequest,
): ExecOutput | null {
  const template = REMOTE_TEMPLATES[name] as unknown as CommandTemplate<RemoteTemplateSlots<K>>;
  const slots = template.match(req.command);
  return slots === null ? null : TEMPLATE_HANDLERS[name](host, slots, req);
}

export function execute(host: ShellHost, req: ExecRequest): ExecOutput {
  for (const name of TEMPLATE_NAMES) {
    const out = tryTemplate(host, name, req);
    if (out) return out;
  }
  return runSimple(host, req.command, req.stdin ?? '');
}

// --- template handlers ---------------------------------------------------------------------

function runProbe(host: ShellHost, slots: RemoteTemplateSlots<'probe'>): ExecOutput {
  let stdout = '';
  for (const { part, template } of PROBE_SECTIONS) {
    const line = (template as CommandTemplate<SlotValues>).render(slots);
    const out = runSimple(host, line, '');
    stdout += `${PROBE_PART_MARK} ${part}\n${out.stdout}${out.stderr}\n${PROBE_RC_MARK} ${part} ${out.code}\n`;
  }
  return { stdout: `${stdout}${PROBE_END_MARK}\n`, stderr: '', code: 0 };
}

/**
 * The stop line, step by step with the same commands (STOP_STEPS), as bash runs it: look for a
 * trainer, killall quietly, pkill, then poll until none is left. Commands here take no clock
 * time, so the polls (and their sleeps) only matter for a trainer that cannot die.
 */
function runStop(host: ShellHost, slots: RemoteTemplateSlots<'stop'>): ExecOutput {
  const step = (template: CommandTemplate<SlotValues>) => runSimple(host, template.render(slots), '');
  const before = step(STOP_STEPS.check as CommandTemplate<SlotValues>);
  if (before.code > 1) return { stdout: '', stderr: before.stderr, code: before.code };
  step(STOP_STEPS.policyKill as CommandTemplate<SlotValues>); // 2>/dev/null
  let stderr = before.stderr + step(STOP_STEPS.narrowKill as CommandTemplate<SlotValues>).stderr;
  for (let poll = 0; poll < STOP_POLLS; poll += 1) {
    const now = step(STOP_STEPS.check as CommandTemplate<SlotValues>);
    stderr += now.stderr;
    if (now.code === 1) {
      const outcome = before.code === 0 ? STOP_STOPPED : STOP_NOT_RUNNING;
      return { stdout: `${outcome}\n`, stderr, code: 0 };
    }
  }
  // `$(...)` drops the trailing newline of pgrep's output.
  const left = step(STOP_STEPS.remaining as CommandTemplate<SlotValues>).stdout.replace(/\n+$/, '');
  return { stdout: '', stderr: `${stderr}${STOP_STILL_RUNNING} ${left}\n`, code: 1 };
}

/** `export NAME='value'` lines as sh would source them (the file writeSecretFile writes). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const raw = m[2]!.trim();
    env[m[1]!] = raw.startsWith("'") ? raw.slice(1, -1).replace(/'\\''/g, "'") : raw.replace(/^"|"$/g, '');
  }
  return env;
}

function runLaunch(host: ShellHost, slots: RemoteTemplateSlots<'launch'>, req: ExecRequest): ExecOutput {
  const { workspace, envFile, argv, log } = slots;
  if (!host.vfs.isDir(workspace)) {
    return { stdout: '', stderr: `bash: line 1: cd: ${workspace}: No such file or directory\n`, code: 1 };
  }
  const secrets = host.vfs.get(envFile);
  const env = { ...(req.env ?? {}), ...(secrets?.kind === 'text' ? parseEnvFile(secrets.text) : {}) };
  if (!host.vfs.isDir(parentOf(normalizePath(log)))) {
    // The redirect fails in the background job; the foreground still prints its pid.
    const pid = host.allocatePid();
    return { stdout: `${pid}\n`, stderr: `bash: line 1: ${log}: No such file or directory\n`, code: 0 };
  }
  host.vfs.truncateLog(log, host.nowMs());
  const pid = host.launchTrainer(argv, env, { workspace, log });
  return { stdout: `${pid}\n`, stderr: '', code: 0 };
}

function runConfigExperts(host: ShellHost, slots: RemoteTemplateSlots<'configExperts'>): ExecOutput {
  const entry = host.vfs.get(slots.file);
  if (entry?.kind !== 'text') {
    const why = host.vfs.isDir(slots.file) ? 'read error on' : "can't read";
    const msg =
      why === "can't read"
        ? `sed: can't read ${slots.file}: No such file or directory\n`
        : `sed: couldn't edit ${slots.file}: not a regular file\n`;
    return { stdout: '', stderr: msg, code: why === "can't read" ? 2 : 4 };
  }
  const values = entry.text
    .split('\n')
    .map((line) => /^[ \t]*n_experts:[ \t]*([0-9]+)/.exec(line)?.[1])
    .filter((v): v is string => v !== undefined);
  return { stdout: values.map((v) => `${v}\n`).join(''), stderr: '', code: 0 };
}

function runWriteSecretFile(
  host: ShellHost,
  slots: RemoteTemplateSlots<'writeSecretFile'>,
  req: ExecRequest,
): ExecOutput {
  const path = normalizePath(slots.file);
  if (!host.vfs.isDir(parentOf(path))) {
    return { stdout: '', stderr: `bash: line 1: ${slots.file}: No such file or directory\n`, code: 1 };
  }
  try {
    host.vfs.writeText(path, req.stdin ?? '', host.nowMs(), 0o600);
  } catch {
    return { stdout: '', stderr: 'cat: write error: No space left on device\n', code: 1 };
  }
  return { stdout: '', stderr: '', code: 0 };
}

/** The environment a command sees after `if [ -f envFile ]; then . envFile; fi`. */
function sourcedEnv(host: ShellHost, envFile: string, req: ExecRequest): Record<string, string> {
  const file = host.vfs.get(envFile);
  return {
    ...host.containerEnv(),
    ...(req.env ?? {}),
    ...(file?.kind === 'text' ? parseEnvFile(file.text) : {}),
  };
}

const REPO_TYPES = ['model', 'dataset', 'space'] as const;

/** The hub CLI's argparse refusal of an unknown `--repo-type`; null when it is one we simulate. */
function repoTypeRefusal(command: 'upload' | 'download', repoType: string): ExecOutput | null {
  if (repoType === 'model' || repoType === 'dataset') return null;
  if (REPO_TYPES.includes(repoType as (typeof REPO_TYPES)[number])) {
    return {
      stdout: '',
      stderr: `sim-host: huggingface-cli ${command} to a ${repoType} repository is not simulated\n`,
      code: 2,
    };
  }
  const choices = REPO_TYPES.map((t) => `'${t}'`).join(', ');
  return {
    stdout: '',
    stderr:
      `usage: huggingface-cli <command> [<args>] ${command} [-h]\n` +
      `huggingface-cli <command> [<args>] ${command}: error: argument --repo-type: invalid choice: '${repoType}' (choose from ${choices})\n`,
    code: 2,
  };
}

function hubContext(host: ShellHost, envFile: string, req: ExecRequest): HubCliContext {
  return { vfs: host.vfs, hub: host.hub, nowMs: host.nowMs(), env: sourcedEnv(host, envFile, req) };
}

function runBackupCheckpoint(
  host: ShellHost,
  slots: RemoteTemplateSlots<'backupCheckpoint'>,
  req: ExecRequest,
): ExecOutput {
  const refused = repoTypeRefusal('upload', slots.repoType);
  if (refused) return refused;
  const target: HubTarget = {
    repoType: slots.repoType as HubTarget['repoType'],
    repoId: slots.repoId,
    pathInRepo: slots.pathInRepo,
  };
  return hubUpload(hubContext(host, slots.envFile, req), { ...target, local: slots.local });
}

/** mkdir -p, download into the temporary directory, mv over latest.pt, rm -rf, stat. */
function runRestoreCheckpoint(
  host: ShellHost,
  slots: RemoteTemplateSlots<'restoreCheckpoint'>,
  req: ExecRequest,
): ExecOutput {
  const tmp = normalizePath(slots.tmpDir);
  if (host.vfs.get(tmp)) {
    return { stdout: '', stderr: `mkdir: cannot create directory '${slots.tmpDir}': File exists\n`, code: 1 };
  }
  host.vfs.mkdirp(tmp, host.nowMs());
  const refused = repoTypeRefusal('download', slots.repoType);
  if (refused) return refused;
  const target: HubTarget = {
    repoType: slots.repoType as HubTarget['repoType'],
    repoId: slots.repoId,
    pathInRepo: slots.pathInRepo,
  };
  const downloaded = hubDownload(hubContext(host, slots.envFile, req), { ...target, localDir: slots.tmpDir });
  if (downloaded.code !== 0) return downloaded;
  if (!host.vfs.rename(slots.downloaded, slots.target)) {
    const why = host.vfs.get(slots.downloaded)
      ? `mv: cannot move '${slots.downloaded}' to '${slots.target}': No such file or directory\n`
      : `mv: cannot stat '${slots.downloaded}': No such file or directory\n`;
    return { stdout: downloaded.stdout, stderr: why, code: 1 };
  }
  host.vfs.removeTree(tmp);
  const restored = host.vfs.get(slots.target);
  const size = restored ? entrySize(restored) : 0;
  return { stdout: `${downloaded.stdout}restored ${slots.target} ${size}\n`, stderr: '', code: 0 };
}

// --- simple commands -----------------------------------------------------------------------

type Token = { word: string } | { op: ';' | '&&' | '||' };

class UnsupportedSyntax extends Error {}

const SPECIAL = new Set(['|', '&', '<', '>', '$', '`', '(', ')']);

/** Words and list operators; quoting as in bash, but no expansions, pipes or redirects. */
export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let word: string | null = null;
  const flush = () => {
    if (word !== null) tokens.push({ word });
    word = null;
  };
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n') {
      flush();
    } else if (ch === "'") {
      const close = line.indexOf("'", i + 1);
      if (close < 0) throw new UnsupportedSyntax('unterminated quote');
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (ch === '"') {
      let j = i + 1;
      let text = '';
      for (; j < line.length && line[j] !== '"'; j += 1) {
        if (line[j] === '$' || line[j] === '`') throw new UnsupportedSyntax('expansion');
        if (line[j] === '\\' && '"\\$`'.includes(line[j + 1] ?? '')) j += 1;
        text += line[j];
      }
      if (j >= line.length) throw new UnsupportedSyntax('unterminated quote');
      word = (word ?? '') + text;
      i = j;
    } else if (ch === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '');
      i += 1;
    } else if (ch === ';') {
      flush();
      tokens.push({ op: ';' });
    } else if ((ch === '&' || ch === '|') && line[i + 1] === ch) {
      flush();
      tokens.push({ op: ch === '&' ? '&&' : '||' });
      i += 1;
    } else if (ch === '#' && word === null) {
      break;
    } else if (SPECIAL.has(ch)) {
      throw new UnsupportedSyntax(ch);
    } else {
      word = (word ?? '') + ch;
    }
  }
  flush();
  return tokens;
}

export function runSimple(host: BuiltinHost, line: string, stdin: string): ExecOutput {
  let tokens: Token[];
  try {
    tokens = tokenize(line);
  } catch (err) {
    const what = err instanceof Error ? err.message : String(err);
    return { stdout: '', stderr: `sim-host: unsupported shell syntax (${what}) in: ${line}\n`, code: 2 };
  }
  const state: ShellState = { cwd: HOME, stdin };
  let stdout = '';
  let stderr = '';
  let code = 0;
  let words: string[] = [];
  let pending: ';' | '&&' | '||' = ';';
  const runPending = () => {
    if (words.length === 0) return;
    const shouldRun = pending === ';' || (pending === '&&' ? code === 0 : code !== 0);
    if (shouldRun) {
      const out = runOne(host, words, state);
      stdout += out.stdout;
      stderr += out.stderr;
      code = out.code;
    }
    words = [];
  };
  for (const token of tokens) {
    if ('word' in token) {
      words.push(token.word);
      continue;
    }
    if (words.length === 0) {
      return {
        stdout,
        stderr: `${stderr}bash: -c: line 1: syntax error near unexpected token \`${token.op}'\n`,
        code: 2,
      };
    }
    runPending();
    pending = token.op;
  }
  runPending();
  return { stdout, stderr, code };
}

function runOne(host: BuiltinHost, words: readonly string[], state: ShellState): ExecOutput {
  const [program, ...args] = words;
  const builtin = BUILTINS[program ?? ''];
  if (!builtin) return { stdout: '', stderr: `bash: line 1: ${program}: command not found\n`, code: 127 };
  return builtin(host, args, state);
}
