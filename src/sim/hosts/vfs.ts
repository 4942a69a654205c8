/**
 * A host's filesystem, in memory. Checkpoints are sizes with metadata (no bytes); the training
 * log keeps only its last lines plus a byte count, so a simulated week of training stays small.
 * Every write checks the finite disk, as a real one would.
 */

export interface CheckpointMeta {
  step: number;
  nExperts: number | null;
  model: string;
}

export type FileEntry =
  | { kind: 'text'; text: string; mtimeMs: number; mode: number }
  | { kind: 'blob'; size: number; meta: CheckpointMeta | null; mtimeMs: number; mode: number }
  | { kind: 'log'; lines: string[]; bytes: number; mtimeMs: number; mode: number };

export interface FileSnapshot {
  path: string;
  size: number;
  mtimeMs: number;
  mode: number;
  /** Text content (for a log, its retained lines); null for checkpoints. */
  text: string | null;
}

/** Lines of a log kept in memory (what `tail` and `cat` can show). */
export const LOG_LINES_KEPT = 500;

export class DiskFullError extends Error {
  override readonly name = 'DiskFullError';
}

export function entrySize(entry: FileEntry): number {
  if (entry.kind === 'text') return Buffer.byteLength(entry.text);
  if (entry.kind === 'blob') return entry.size;
  return entry.bytes;
}

export function entryText(entry: FileEntry): string {
  if (entry.kind === 'text') return entry.text;
  if (entry.kind === 'log') return entry.lines.map((l) => `${l}\n`).join('');
  return '';
}

/** `/a/b/` -> `/a/b`; relative paths are resolved against `cwd`. */
export function normalizePath(path: string, cwd = '/'): string {
  const joined = path.startsWith('/') ? path : `${cwd}/${path}`;
  const out: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export class VirtualFs {
  private readonly files = new Map<string, FileEntry>();
  private readonly dirs = new Map<string, number>([['/', 0]]);
  private used = 0;

  constructor(
    readonly totalBytes: number,
    /** The image, the dataset cache and the OS: space no file here accounts for. */
    readonly baseUsedBytes: number,
  ) {}

  usedBytes(): number {
    return this.baseUsedBytes + this.used;
  }

  freeBytes(): number {
    return Math.max(0, this.totalBytes - this.usedBytes());
  }

  usedPct(): number {
    return (this.usedBytes() / this.totalBytes) * 100;
  }

  isDir(path: string): boolean {
    return this.dirs.has(normalizePath(path));
  }

  get(path: string): FileEntry | undefined {
    return this.files.get(normalizePath(path));
  }

  exists(path: string): boolean {
    const p = normalizePath(path);
    return this.files.has(p) || this.dirs.has(p);
  }

  dirMtime(path: string): number | undefined {
    return this.dirs.get(normalizePath(path));
  }

  mkdirp(path: string, nowMs: number): void {
    let p = normalizePath(path);
    while (!this.dirs.has(p)) {
      this.dirs.set(p, nowMs);
      p = parentOf(p);
    }
  }

  /** Names directly inside `dir` (files and directories), sorted. */
  list(dir: string): string[] {
    const d = normalizePath(dir);
    const prefix = d === '/' ? '/' : `${d}/`;
    const names = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs.keys()]) {
      if (p !== d && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) {
        names.add(p.slice(prefix.length));
      }
    }
    return [...names].sort();
  }

  /** Replaces the file, checking the space its growth needs. Throws DiskFullError when short. */
  put(path: string, entry: FileEntry): void {
    const p = normalizePath(path);
    if (!this.dirs.has(parentOf(p))) throw new Error(`no directory ${parentOf(p)}`);
    const old = this.files.get(p);
    const growth = entrySize(entry) - (old ? entrySize(old) : 0);
    if (growth > 0 && growth > this.freeBytes()) throw new DiskFullError(`no space for ${p}`);
    this.files.set(p, entry);
    this.used += growth;
  }

  /** Writes as much of a blob as fits (a crashed torch.save leaves a truncated file). */
  putPartial(path: string, size: number, mtimeMs: number): void {
    const p = normalizePath(path);
    const old = this.files.get(p);
    const room = this.freeBytes() + (old ? entrySize(old) : 0);
    this.put(p, { kind: 'blob', size: Math.min(size, room), meta: null, mtimeMs, mode: 0o644 });
  }

  writeText(path: string, text: string, mtimeMs: number, mode = 0o644): void {
    this.put(path, { kind: 'text', text, mtimeMs, mode });
  }

  remove(path: string): boolean {
    const p = normalizePath(path);
    const old = this.files.get(p);
    if (!old) return false;
    this.files.delete(p);
    this.used -= entrySize(old);
    return true;
  }

  /** rename(2): the file moves with its mtime and mode; no extra space is needed. */
  rename(from: string, to: string): boolean {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    const entry = this.files.get(src);
    if (!entry || !this.dirs.has(parentOf(dst)) || this.dirs.has(dst)) return false;
    if (src === dst) return true;
    this.remove(dst);
    this.files.delete(src);
    this.files.set(dst, entry);
    return true;
  }

  /** `rm -rf`: the file, or the directory with everything under it. */
  removeTree(path: string): void {
    const p = normalizePath(path);
    if (p === '/') throw new Error('refusing to remove /');
    this.remove(p);
    const prefix = `${p}/`;
    for (const file of [...this.files.keys()]) if (file.startsWith(prefix)) this.remove(file);
    for (const dir of [...this.dirs.keys()]) if (dir === p || dir.startsWith(prefix)) this.dirs.delete(dir);
  }

  /** Appends lines to a log file, creating it; the bytes count even when the disk is full. */
  appendLog(path: string, lines: readonly string[], mtimeMs: number, skippedBytes = 0): void {
    const p = normalizePath(path);
    let entry = this.files.get(p);
    if (entry?.kind !== 'log') {
      this.truncateLog(p, mtimeMs);
      entry = this.files.get(p)!;
    }
    if (entry.kind !== 'log') return;
    const bytes = skippedBytes + lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    entry.lines.push(...lines);
    if (entry.lines.length > LOG_LINES_KEPT) entry.lines.splice(0, entry.lines.length - LOG_LINES_KEPT);
    entry.bytes += bytes;
    entry.mtimeMs = mtimeMs;
    this.used += bytes;
  }

  /** `> file`: empties (or creates) a log. */
  truncateLog(path: string, mtimeMs: number): void {
    const p = normalizePath(path);
    this.mkdirp(parentOf(p), mtimeMs);
    const old = this.files.get(p);
    if (old) this.used -= entrySize(old);
    this.files.set(p, { kind: 'log', lines: [], bytes: 0, mtimeMs, mode: 0o644 });
  }

  /** Files under `root` (all when omitted), for tests and the parity mirror. */
  snapshot(root = '/'): FileSnapshot[] {
    const r = normalizePath(root);
    const prefix = r === '/' ? '/' : `${r}/`;
    return [...this.files.entries()]
      .filter(([p]) => p === r || p.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, e]) => ({
        path,
        size: entrySize(e),
        mtimeMs: e.mtimeMs,
        mode: e.mode,
        text: e.kind === 'blob' ? null : entryText(e),
      }));
  }

  /** Directories under `root`, for the parity mirror. */
  directories(root = '/'): string[] {
    const r = normalizePath(root);
    return [...this.dirs.keys()].filter((d) => d === r || d.startsWith(`${r}/`)).sort();
  }
}
