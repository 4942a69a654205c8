import type { VirtualFs } from './vfs.js';
import { baseName, entrySize, entryText, normalizePath } from './vfs.js';

/**
 * The standalone commands a simulated host understands, with the output, messages and exit
 * codes of bash 5 and GNU coreutils/procps/psmisc (the parity test holds them to that).
 */

export interface ExecOutput {
  stdout: string;
  stderr: string;
  code: number;
}

export interface GpuRow {
  index: number;
  name: string;
  utilPct: number;
  memUsedMb: number;
  memTotalMb: number;
  tempC: number;
}

export interface SimProcessView {
  pid: number;
  comm: string;
  cmdline: string;
}

/** What the commands can see and do on their host. */
export interface BuiltinHost {
  readonly vfs: VirtualFs;
  nowMs(): number;
  hostname(): string;
  processes(): readonly SimProcessView[];
  /** Signals every process whose name is `name`; returns how many. */
  signalByName(name: string, signal: 'KILL' | 'TERM'): number;
  /** Signals the processes with these pids (pkill); returns how many existed. */
  signalPids(pids: readonly number[], signal: 'KILL' | 'TERM'): number;
  gpuRows(): readonly GpuRow[];
}

export interface ShellState {
  cwd: string;
  stdin: string;
}

type Builtin = (host: BuiltinHost, args: readonly string[], state: ShellState) => ExecOutput;

export const HOME = '/root';

function ok(stdout = ''): ExecOutput {
  return { stdout, stderr: '', code: 0 };
}

function fail(code: number, stderr: string, stdout = ''): ExecOutput {
  return { stdout, stderr, code };
}

function combine(outputs: readonly ExecOutput[], code: number): ExecOutput {
  return {
    stdout: outputs.map((o) => o.stdout).join(''),
    stderr: outputs.map((o) => o.stderr).join(''),
    code,
  };
}

const NO_SUCH = 'No such file or directory';

/** Splits leading short flags (`-9`, `-f`, `-rf`) from operands; `--` ends flags. */
function splitFlags(args: readonly string[]): { flags: string[]; operands: string[] } {
  const flags: string[] = [];
  let i = 0;
  for (; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === '--') {
      i += 1;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    flags.push(a);
  }
  return { flags, operands: args.slice(i) };
}

// --- date ----------------------------------------------------------------------------------

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => String(n).padStart(2, '0');

function strftime(format: string, ms: number): string {
  const d = new Date(ms);
  const table: Record<string, () => string> = {
    s: () => String(Math.floor(ms / 1000)),
    Y: () => String(d.getUTCFullYear()),
    m: () => pad2(d.getUTCMonth() + 1),
    d: () => pad2(d.getUTCDate()),
    H: () => pad2(d.getUTCHours()),
    M: () => pad2(d.getUTCMinutes()),
    S: () => pad2(d.getUTCSeconds()),
    F: () => `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`,
    T: () => `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`,
    Z: () => 'UTC',
    '%': () => '%',
  };
  return format.replace(/%(.)/g, (all, c: string) => table[c]?.() ?? all);
}

const date: Builtin = (host, args) => {
  const ms = host.nowMs();
  const format = args.find((a) => a.startsWith('+'));
  if (format) return ok(`${strftime(format.slice(1), ms)}\n`);
  if (args.length > 0) return fail(1, `date: invalid date '${args[0]}'\n`);
  const d = new Date(ms);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  return ok(
    `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${day} ${strftime('%T', ms)} UTC ${d.getUTCFullYear()}\n`,
  );
};

// --- files ---------------------------------------------------------------------------------

const cat: Builtin = (host, args, state) => {
  const { operands } = splitFlags(args);
  if (operands.length === 0) return ok(state.stdin);
  const outs = operands.map((name) => {
    const path = normalizePath(name, state.cwd);
    if (host.vfs.isDir(path)) return fail(1, `cat: ${name}: Is a directory\n`);
    const entry = host.vfs.get(path);
    if (!entry) return fail(1, `cat: ${name}: ${NO_SUCH}\n`);
    return ok(entryText(entry));
  });
  return combine(outs, outs.some((o) => o.code !== 0) ? 1 : 0);
};

/** The last `n` lines of `text`, byte-exact (a missing final newline stays missing). */
export function lastLines(text: string, n: number): string {
  if (n <= 0 || text === '') return '';
  let end = text.length;
  if (text.endsWith('\n')) end -= 1;
  let pos = end;
  for (let found = 0; found < n; found += 1) {
    const i = text.lastIndexOf('\n', pos - 1);
    if (i < 0) return text;
    pos = i;
  }
  return text.slice(pos + 1);
}

const tail: Builtin = (host, args, state) => {
  let n = 10;
  const files: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === '-n') {
      i += 1;
      const v = args[i];
      if (v === undefined || !/^\d+$/.test(v))
        return fail(1, `tail: invalid number of lines: '${v ?? ''}'\n`);
      n = Number(v);
    } else if (/^-n\d+$/.test(a)) n = Number(a.slice(2));
    else if (/^-\d+$/.test(a)) n = Number(a.slice(1));
    else files.push(a);
  }
  if (files.length === 0) return ok(lastLines(state.stdin, n));
  const outs = files.map((name) => {
    const entry = host.vfs.get(normalizePath(name, state.cwd));
    if (!entry) {
      const dir = host.vfs.isDir(normalizePath(name, state.cwd));
      return fail(
        1,
        dir
          ? `tail: error reading '${name}': Is a directory\n`
          : `tail: cannot open '${name}' for reading: ${NO_SUCH}\n`,
      );
    }
    const body = lastLines(entryText(entry), n);
    return ok(files.length > 1 ? `==> ${name} <==\n${body}` : body);
  });
  return combine(outs, outs.some((o) => o.code !== 0) ? 1 : 0);
};

const stat: Builtin = (host, args, state) => {
  let format: string | null = null;
  const files: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === '-c') {
      i += 1;
      format = args[i] ?? '';
    } else if (a.startsWith('--format=')) format = a.slice('--format='.length);
    else files.push(a);
  }
  if (files.length === 0) return fail(1, "stat: missing operand\nTry 'stat --help' for more information.\n");
  if (format === null) format = '  File: %n\n  Size: %s\nModify: %Y';
  const outs = files.map((name) => {
    const path = normalizePath(name, state.cwd);
    const entry = host.vfs.get(path);
    const dirMtime = host.vfs.dirMtime(path);
    if (!entry && dirMtime === undefined) return fail(1, `stat: cannot statx '${name}': ${NO_SUCH}\n`);
    const size = entry ? entrySize(entry) : 4096;
    const mtimeMs = entry ? entry.mtimeMs : dirMtime!;
    const mode = entry ? entry.mode : 0o755;
    const fields: Record<string, string> = {
      n: name,
      s: String(size),
      Y: String(Math.floor(mtimeMs / 1000)),
      a: mode.toString(8),
      F: entry ? (size === 0 ? 'regular empty file' : 'regular file') : 'directory',
      U: 'root',
      '%': '%',
    };
    return ok(`${format!.replace(/%(.)/g, (all, c: string) => fields[c] ?? all)}\n`);
  });
  return combine(outs, outs.some((o) => o.code !== 0) ? 1 : 0);
};

const ls: Builtin = (host, args, state) => {
  const { flags, operands } = splitFlags(args);
  for (const f of flags) {
    const bad = [...f.slice(1)].find((c) => !'1aA'.includes(c));
    if (bad) return fail(2, `ls: invalid option -- '${bad}'\nTry 'ls --help' for more information.\n`);
  }
  const all = flags.some((f) => f.includes('a'));
  const targets = operands.length > 0 ? operands : ['.'];
  let code = 0;
  const errors: string[] = [];
  const fileLines: string[] = [];
  const dirBlocks: string[] = [];
  for (const name of targets) {
    const path = normalizePath(name, state.cwd);
    if (host.vfs.isDir(path)) {
      const names = host.vfs.list(path).filter((n) => all || !n.startsWith('.'));
      const listing = (all ? ['.', '..', ...names] : names).map((n) => `${n}\n`).join('');
      dirBlocks.push(targets.length > 1 ? `${name}:\n${listing}` : listing);
    } else if (host.vfs.get(path)) {
      fileLines.push(`${name}\n`);
    } else {
      errors.push(`ls: cannot access '${name}': ${NO_SUCH}\n`);
      code = 2;
    }
  }
  const blocks = [...(fileLines.length ? [fileLines.join('')] : []), ...dirBlocks];
  return { stdout: blocks.join('\n'), stderr: errors.join(''), code };
};

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function findPrintf(format: string, path: string, size: number, mtimeMs: number): string {
  const escaped = format.replace(/\\(.)/g, (_all, c: string) => ({ n: '\n', t: '\t', '\\': '\\' })[c] ?? c);
  return escaped.replace(/%(T@|.)/g, (all, c: string) => {
    if (c === 'f') return baseName(path);
    if (c === 'p') return path;
    if (c === 's') return String(size);
    if (c === 'T@') return (mtimeMs / 1000).toFixed(10);
    if (c === '%') return '%';
    return all;
  });
}

/** `find DIR [-maxdepth N] [-type f|d] [-name GLOB] [-printf FMT]`. */
const find: Builtin = (host, args, state) => {
  const start = args[0];
  if (start === undefined || start.startsWith('-'))
    return fail(1, 'find: sim-host supports `find DIR ...` only\n');
  let maxDepth = Number.POSITIVE_INFINITY;
  let type: string | null = null;
  let name: RegExp | null = null;
  let printf: string | null = null;
  for (let i = 1; i < args.length; i += 1) {
    const a = args[i]!;
    const v = args[i + 1];
    if (v === undefined) return fail(1, `find: missing argument to \`${a}'\n`);
    i += 1;
    if (a === '-maxdepth') maxDepth = Number(v);
    else if (a === '-type') type = v;
    else if (a === '-name') name = globToRegExp(v);
    else if (a === '-printf') printf = v;
    else return fail(1, `find: unknown predicate \`${a}'\n`);
  }
  const root = normalizePath(start, state.cwd);
  if (!host.vfs.exists(root)) return fail(1, `find: '${start}': ${NO_SUCH}\n`);
  const shown = start.replace(/\/+$/, '') || '/';
  let out = '';
  const visit = (path: string, display: string, depth: number) => {
    const entry = host.vfs.get(path);
    const isDir = !entry;
    const matches =
      (type === null || (type === 'd' ? isDir : !isDir)) && (name === null || name.test(baseName(display)));
    if (matches) {
      const size = entry ? entrySize(entry) : 4096;
      const mtime = entry ? entry.mtimeMs : (host.vfs.dirMtime(path) ?? 0);
      out += printf === null ? `${display}\n` : findPrintf(printf, display, size, mtime);
    }
    if (isDir && depth < maxDepth) {
      for (const child of host.vfs.list(path))
        visit(`${path === '/' ? '' : path}/${child}`, `${display}/${child}`, depth + 1);
    }
  };
  visit(root, shown, 0);
  return ok(out);
};

const rm: Builtin = (host, args, state) => {
  const { flags, operands } = splitFlags(args);
  const force = flags.some((f) => f.includes('f'));
  if (operands.length === 0)
    return force ? ok() : fail(1, "rm: missing operand\nTry 'rm --help' for more information.\n");
  const errors: string[] = [];
  for (const name of operands) {
    const path = normalizePath(name, state.cwd);
    if (host.vfs.isDir(path)) errors.push(`rm: cannot remove '${name}': Is a directory\n`);
    else if (!host.vfs.remove(path) && !force) errors.push(`rm: cannot remove '${name}': ${NO_SUCH}\n`);
  }
  return { stdout: '', stderr: errors.join(''), code: errors.length > 0 ? 1 : 0 };
};

const mkdir: Builtin = (host, args, state) => {
  const { flags, operands } = splitFlags(args);
  const parents = flags.some((f) => f.includes('p'));
  const errors: string[] = [];
  for (const name of operands) {
    const path = normalizePath(name, state.cwd);
    if (host.vfs.exists(path)) {
      if (!parents) errors.push(`mkdir: cannot create directory '${name}': File exists\n`);
    } else if (!parents && !host.vfs.isDir(path.slice(0, path.lastIndexOf('/')) || '/')) {
      errors.push(`mkdir: cannot create directory '${name}': ${NO_SUCH}\n`);
    } else {
      host.vfs.mkdirp(path, host.nowMs());
    }
  }
  return { stdout: '', stderr: errors.join(''), code: errors.length > 0 ? 1 : 0 };
};

// --- disk ----------------------------------------------------------------------------------

function dfLine(host: BuiltinHost): string[] {
  const kb = (bytes: number) => Math.floor(bytes / 1024);
  const total = kb(host.vfs.totalBytes);
  const used = Math.min(total, kb(host.vfs.usedBytes()));
  const avail = Math.max(0, total - used);
  const pct = total === 0 ? 0 : Math.ceil((used * 100) / (used + avail));
  return ['overlay', String(total), String(used), String(avail), `${pct}%`, '/'];
}

/** GNU df -P layout: columns as wide as their widest cell (the device at least 14), numbers right-aligned. */
function formatDf(rows: readonly string[][]): string {
  const header = ['Filesystem', '1024-blocks', 'Used', 'Available', 'Capacity', 'Mounted on'];
  const all = [header, ...rows];
  const width = (c: number) => Math.max(...all.map((r) => r[c]!.length));
  return all
    .map((r) =>
      [
        r[0]!.padEnd(Math.max(width(0), 14)),
        r[1]!.padStart(width(1)),
        r[2]!.padStart(width(2)),
        r[3]!.padStart(width(3)),
        r[4]!.padStart(width(4)),
        r[5]!,
      ].join(' '),
    )
    .map((l) => `${l}\n`)
    .join('');
}

const df: Builtin = (host, args, state) => {
  const { flags, operands } = splitFlags(args);
  const bad = flags.find((f) => f !== '-P' && f !== '-k' && f !== '-Pk' && f !== '-kP');
  if (bad) return fail(1, `df: sim-host supports df -P only, not ${bad}\n`);
  const errors: string[] = [];
  const rows: string[][] = [];
  for (const name of operands.length > 0 ? operands : ['/']) {
    if (!host.vfs.exists(normalizePath(name, state.cwd))) errors.push(`df: ${name}: ${NO_SUCH}\n`);
    else rows.push(dfLine(host));
  }
  if (rows.length === 0) return fail(1, errors.join(''));
  return { stdout: formatDf(rows), stderr: errors.join(''), code: errors.length > 0 ? 1 : 0 };
};

// --- GPUs ----------------------------------------------------------------------------------

const SMI_FIELDS: Record<string, { header: string; unit: string; value: (g: GpuRow) => string }> = {
  index: { header: 'index', unit: '', value: (g) => String(g.index) },
  name: { header: 'name', unit: '', value: (g) => `NVIDIA GeForce ${g.name}` },
  'utilization.gpu': { header: 'utilization.gpu [%]', unit: ' %', value: (g) => String(g.utilPct) },
  'memory.used': { header: 'memory.used [MiB]', unit: ' MiB', value: (g) => String(g.memUsedMb) },
  'memory.total': { header: 'memory.total [MiB]', unit: ' MiB', value: (g) => String(g.memTotalMb) },
  'temperature.gpu': { header: 'temperature.gpu', unit: '', value: (g) => String(g.tempC) },
};

const nvidiaSmi: Builtin = (host, args) => {
  const query = args.find((a) => a.startsWith('--query-gpu='));
  const gpus = host.gpuRows();
  if (!query) {
    const rows = gpus.map(
      (g) =>
        `| ${String(g.index).padStart(3)}  NVIDIA GeForce ${g.name.padEnd(12)} | ${String(g.tempC).padStart(3)}C | ${String(g.memUsedMb).padStart(6)}MiB / ${g.memTotalMb}MiB | ${String(g.utilPct).padStart(3)}% |`,
    );
    return ok(
      `NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4\n${rows.join('\n')}\n`,
    );
  }
  const format = (args.find((a) => a.startsWith('--format=')) ?? '--format=csv')
    .slice('--format='.length)
    .split(',');
  if (!format.includes('csv'))
    return fail(2, '', "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n");
  const fields = query.slice('--query-gpu='.length).split(',');
  const unknown = fields.find((f) => !SMI_FIELDS[f]);
  if (unknown) return fail(2, '', `Field "${unknown}" is not a valid field to query.\n\n`);
  const specs = fields.map((f) => SMI_FIELDS[f]!);
  const units = !format.includes('nounits');
  const lines = gpus.map((g) => specs.map((s) => s.value(g) + (units ? s.unit : '')).join(', '));
  if (!format.includes('noheader')) lines.unshift(specs.map((s) => s.header).join(', '));
  return ok(lines.map((l) => `${l}\n`).join(''));
};

// --- processes -----------------------------------------------------------------------------

const SIGNALS: Record<string, 'KILL' | 'TERM'> = {
  '-9': 'KILL',
  '-KILL': 'KILL',
  '-SIGKILL': 'KILL',
  '-15': 'TERM',
  '-TERM': 'TERM',
  '-SIGTERM': 'TERM',
};

const killall: Builtin = (host, args) => {
  let signal: 'KILL' | 'TERM' = 'TERM';
  const names: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === '-s') {
      i += 1;
      const s = SIGNALS[`-${args[i] ?? ''}`];
      if (!s) return fail(1, `killall: unknown signal; killall -l lists signals.\n`);
      signal = s;
    } else if (a.startsWith('-')) {
      const s = SIGNALS[a];
      if (!s) return fail(1, `killall: unknown signal; killall -l lists signals.\n`);
      signal = s;
    } else names.push(a);
  }
  if (names.length === 0) return fail(1, 'Usage: killall [OPTION]... [--] NAME...\n');
  const errors = names
    .filter((name) => host.signalByName(name, signal) === 0)
    .map((name) => `${name}: no process found\n`);
  return { stdout: '', stderr: errors.join(''), code: errors.length > 0 ? 1 : 0 };
};

interface ProcessMatch {
  full: boolean;
  exact: boolean;
  delimiter: string;
  signal: 'KILL' | 'TERM';
  pattern: RegExp;
}

/**
 * procps `pgrep` / `pkill` arguments: `-f`, `-x` (clustered or not), pgrep's `-d DELIM`, pkill's
 * leading `-<signal>`, one pattern (an extended regular expression).
 */
function parseProcessMatch(program: 'pgrep' | 'pkill', args: readonly string[]): ProcessMatch | ExecOutput {
  const match = { full: false, exact: false, delimiter: '\n', signal: 'TERM' as 'KILL' | 'TERM' };
  const operands: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    const signal = SIGNALS[a];
    if (program === 'pkill' && i === 0 && signal) {
      match.signal = signal;
    } else if (program === 'pgrep' && a === '-d') {
      i += 1;
      const delimiter = args[i];
      if (delimiter === undefined) return fail(2, `pgrep: option requires an argument -- 'd'\n`);
      match.delimiter = delimiter;
    } else if (a.startsWith('-') && a.length > 1) {
      for (const c of a.slice(1)) {
        if (c === 'f') match.full = true;
        else if (c === 'x') match.exact = true;
        else
          return fail(
            2,
            `${program}: invalid option -- '${c}'\nTry \`${program} --help' for more information.\n`,
          );
      }
    } else {
      operands.push(a);
    }
  }
  const source = operands[0];
  if (source === undefined) {
    return fail(
      2,
      `${program}: no matching criteria specified\nTry \`${program} --help' for more information.\n`,
    );
  }
  if (operands.length > 1) {
    return fail(
      2,
      `${program}: only one pattern can be provided\nTry \`${program} --help' for more information.\n`,
    );
  }
  try {
    return { ...match, pattern: new RegExp(match.exact ? `^(?:${source})$` : source) };
  } catch {
    return fail(2, `${program}: regular expression error\n`);
  }
}

/** Pids whose name (first 15 characters) or, with -f, whole command line matches; ascending. */
function matchingPids(host: BuiltinHost, match: ProcessMatch): number[] {
  return host
    .processes()
    .filter((p) => match.pattern.test(match.full ? p.cmdline : p.comm.slice(0, 15)))
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

const pgrep: Builtin = (host, args) => {
  const match = parseProcessMatch('pgrep', args);
  if ('code' in match) return match;
  const pids = matchingPids(host, match);
  return pids.length > 0 ? ok(`${pids.join(match.delimiter)}\n`) : fail(1, '');
};

/** Silent when it signalled something (0) or found nothing (1), as procps pkill is. */
const pkill: Builtin = (host, args) => {
  const match = parseProcessMatch('pkill', args);
  if ('code' in match) return match;
  const pids = matchingPids(host, match);
  if (pids.length === 0) return fail(1, '');
  host.signalPids(pids, match.signal);
  return ok();
};

// --- the rest ------------------------------------------------------------------------------

const echo: Builtin = (_host, args) => {
  const noNewline = args[0] === '-n';
  const words = noNewline ? args.slice(1) : args;
  return ok(words.join(' ') + (noNewline ? '' : '\n'));
};

const cd: Builtin = (host, args, state) => {
  const target = args[0] ?? HOME;
  const path = normalizePath(target, state.cwd);
  if (!host.vfs.isDir(path)) {
    const why = host.vfs.get(path) ? 'Not a directory' : NO_SUCH;
    return fail(1, `bash: line 1: cd: ${target}: ${why}\n`);
  }
  state.cwd = path;
  return ok();
};

export const BUILTINS: Readonly<Record<string, Builtin>> = {
  date,
  cat,
  tail,
  stat,
  ls,
  find,
  rm,
  mkdir,
  df,
  'nvidia-smi': nvidiaSmi,
  killall,
  pgrep,
  pkill,
  echo,
  cd,
  true: () => ok(),
  false: () => fail(1, ''),
  pwd: (_host, _args, state) => ok(`${state.cwd}\n`),
  whoami: () => ok('root\n'),
  hostname: (host) => ok(`${host.hostname()}\n`),
  sleep: () => ok(),
};
