import type { HubRepoType } from '../../fleet/remote/backup-source.js';
import type { ExecOutput } from './builtins.js';
import type { HubFile, SimHub } from './hub.js';
import {
  DiskFullError,
  entrySize,
  entryText,
  type FileEntry,
  normalizePath,
  parentOf,
  type VirtualFs,
} from './vfs.js';

/**
 * `huggingface-cli upload` and `download` (huggingface_hub 0.2x, `--quiet`) against the shared
 * simulated hub: what they print and how they fail. The CLI does not catch exceptions, so every
 * failure is a Python traceback ending in the exception line, and exit status 1. The parity
 * test's stand-in CLI on the real host prints the same lines.
 */

export const HUB_ENDPOINT = 'https://huggingface.co';
/** Where `huggingface-cli login` keeps the token (HF_HOME unset). */
export const HUB_TOKEN_FILE = '/root/.cache/huggingface/token';

const TRACEBACK =
  'Traceback (most recent call last):\n' +
  '  File "/usr/local/bin/huggingface-cli", line 8, in <module>\n' +
  '    sys.exit(main())\n';

export interface HubCliContext {
  vfs: VirtualFs;
  hub: SimHub;
  nowMs: number;
  /** The environment the CLI process sees (container, channel, sourced secret file). */
  env: Readonly<Record<string, string>>;
}

export interface HubTarget {
  repoType: HubRepoType;
  repoId: string;
  pathInRepo: string;
}

function repoUrl(t: HubTarget): string {
  return `${HUB_ENDPOINT}/${t.repoType === 'dataset' ? 'datasets/' : ''}${t.repoId}`;
}

/** What `upload_file` returns (and the CLI prints): the file's page on the Hub. */
export function uploadedUrl(t: HubTarget): string {
  return `${repoUrl(t)}/blob/main/${t.pathInRepo}`;
}

function resolveUrl(t: HubTarget): string {
  return `${repoUrl(t)}/resolve/main/${t.pathInRepo}`;
}

/** The messages, each the traceback's last lines (exported for tests). */
export const HUB_CLI_ERRORS = {
  localFileMissing: (local: string) => `FileNotFoundError: No such file or directory: '${local}'.\n`,
  uploadUnauthorized: () =>
    `huggingface_hub.errors.HfHubHTTPError: 401 Client Error: Unauthorized for url: ${HUB_ENDPOINT}/api/repos/create\n\nInvalid username or password.\n`,
  repoNotFound: (t: HubTarget, status: 401 | 404) =>
    `huggingface_hub.errors.RepositoryNotFoundError: ${status} Client Error.\n\nRepository Not Found for url: ${resolveUrl(t)}.\n` +
    'Please make sure you specified the correct `repo_id` and `repo_type`.\n' +
    'If you are trying to access a private or gated repo, make sure you are authenticated.' +
    (status === 401 ? '\nInvalid username or password.\n' : '\n'),
  entryNotFound: (t: HubTarget) =>
    `huggingface_hub.errors.EntryNotFoundError: 404 Client Error.\n\nEntry Not Found for url: ${resolveUrl(t)}.\n`,
  noSpace: () => 'OSError: [Errno 28] No space left on device\n',
} as const;

function failed(message: string): ExecOutput {
  return { stdout: '', stderr: `${TRACEBACK}${message}`, code: 1 };
}

/** HF_TOKEN first, then the login file: huggingface_hub's get_token() order. */
function hasToken(ctx: HubCliContext): boolean {
  if ((ctx.env['HF_TOKEN'] ?? '') !== '') return true;
  const file = ctx.vfs.get(HUB_TOKEN_FILE);
  return file !== undefined && entryText(file).trim() !== '';
}

function toHubFile(entry: FileEntry, nowMs: number): HubFile {
  if (entry.kind === 'blob') return { size: entry.size, meta: entry.meta, text: null, uploadedAtMs: nowMs };
  return { size: entrySize(entry), meta: null, text: entryText(entry), uploadedAtMs: nowMs };
}

function toFileEntry(file: HubFile, nowMs: number): FileEntry {
  if (file.text !== null) return { kind: 'text', text: file.text, mtimeMs: nowMs, mode: 0o644 };
  return { kind: 'blob', size: file.size, meta: file.meta, mtimeMs: nowMs, mode: 0o644 };
}

/** `huggingface-cli upload --repo-type T --private --quiet REPO LOCAL PATH_IN_REPO`. */
export function hubUpload(ctx: HubCliContext, t: HubTarget & { local: string }): ExecOutput {
  // The CLI checks the local path before it talks to the Hub (create_repo needs the token).
  const entry = ctx.vfs.get(normalizePath(t.local));
  if (!entry) return failed(HUB_CLI_ERRORS.localFileMissing(t.local));
  if (!hasToken(ctx)) return failed(HUB_CLI_ERRORS.uploadUnauthorized());
  ctx.hub.put(t.repoType, t.repoId, t.pathInRepo, toHubFile(entry, ctx.nowMs));
  return { stdout: `${uploadedUrl(t)}\n`, stderr: '', code: 0 };
}

/**
 * `huggingface-cli download --repo-type T --quiet --local-dir DIR REPO PATH_IN_REPO`: writes
 * DIR/PATH_IN_REPO and prints that path. Private repositories answer 401 without a token.
 */
export function hubDownload(ctx: HubCliContext, t: HubTarget & { localDir: string }): ExecOutput {
  if (!hasToken(ctx)) return failed(HUB_CLI_ERRORS.repoNotFound(t, 401));
  if (!ctx.hub.hasRepo(t.repoType, t.repoId)) return failed(HUB_CLI_ERRORS.repoNotFound(t, 404));
  const file = ctx.hub.get(t.repoType, t.repoId, t.pathInRepo);
  if (!file) return failed(HUB_CLI_ERRORS.entryNotFound(t));
  const dest = normalizePath(`${t.localDir}/${t.pathInRepo}`);
  ctx.vfs.mkdirp(parentOf(dest), ctx.nowMs);
  try {
    ctx.vfs.put(dest, toFileEntry(file, ctx.nowMs));
  } catch (err) {
    if (!(err instanceof DiskFullError)) throw err;
    return failed(HUB_CLI_ERRORS.noSpace());
  }
  return { stdout: `${dest}\n`, stderr: '', code: 0 };
}
