import { ValidationError } from '../../errors.js';

/**
 * Where a run's checkpoints are backed up: a repository on the Hugging Face Hub, written in a
 * fleet file as the run's `backup_source`. The training project already backs checkpoints up
 * there under the run's `hf_path` (`<hf_path>/latest.pt`, `<hf_path>/final.pt`), and the
 * conductor uses the same repository to move a checkpoint between hosts.
 *
 * Format (the repository part of huggingface_hub's `hf://` URLs, nothing else):
 *
 *   hf://<owner>/<name>            a model repository (the usual place for checkpoints)
 *   hf://datasets/<owner>/<name>   a dataset repository
 *
 * `<owner>` and `<name>` are 1-96 letters, digits, `-`, `_` or `.`, starting and ending with a
 * letter or digit, without `--` or `..` (the Hub's own rule for repository ids). No revision
 * (`@branch`), no path inside the repository (that is the run's `hf_path`), no query, no
 * whitespace. Anything else is refused with the reason, so a typo stops at start-up rather than
 * at 3 a.m. when a preempted run needs its checkpoint.
 */

export type HubRepoType = 'model' | 'dataset';

export interface HubRepo {
  repoType: HubRepoType;
  /** `<owner>/<name>` */
  repoId: string;
}

export const BACKUP_SOURCE_SCHEME = 'hf://';
const DATASETS_PREFIX = 'datasets/';
/** One half of a repository id. */
const REPO_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;
/** Words huggingface_hub reads as a repository type when they lead an `hf://` path. */
const TYPE_WORDS = new Set(['models', 'datasets', 'spaces']);

function refuse(source: unknown, why: string): ValidationError {
  return new ValidationError(
    `backup_source ${JSON.stringify(source)} ${why} (expected hf://<owner>/<repo> or hf://datasets/<owner>/<repo>)`,
  );
}

function checkPart(source: string, what: string, part: string | undefined): string {
  if (part === undefined || part === '') throw refuse(source, `has no repository ${what}`);
  if (!REPO_PART.test(part) || part.includes('--') || part.includes('..')) {
    throw refuse(
      source,
      `has an invalid repository ${what} ${JSON.stringify(part)}: 1-96 letters, digits, - _ . ` +
        'starting and ending with a letter or digit, without -- or ..',
    );
  }
  return part;
}

/** A repository id as the Hub accepts it (`owner/name`), or a ValidationError saying why not. */
export function checkHubRepo(repo: HubRepo): HubRepo {
  if (repo.repoType !== 'model' && repo.repoType !== 'dataset') {
    throw new ValidationError(`hub repository type ${JSON.stringify(repo.repoType)} is not model or dataset`);
  }
  const source = `${BACKUP_SOURCE_SCHEME}${repo.repoType === 'dataset' ? DATASETS_PREFIX : ''}${repo.repoId}`;
  const parts = String(repo.repoId).split('/');
  if (parts.length !== 2) throw refuse(source, 'is not <owner>/<repo>');
  const owner = checkPart(source, 'owner', parts[0]);
  checkPart(source, 'name', parts[1]);
  // `hf://datasets/x` would be read back as a dataset: such an owner cannot be spelled.
  if (TYPE_WORDS.has(owner)) {
    throw refuse(source, `has the owner ${owner}, which the Hub reads as a repository type`);
  }
  return repo;
}

/** Parses a run's `backup_source`; throws a ValidationError naming what is wrong. */
export function parseBackupSource(source: string): HubRepo {
  if (typeof source !== 'string' || source === '') throw refuse(source, 'is empty');
  if (!source.startsWith(BACKUP_SOURCE_SCHEME)) {
    const hint = /^hf:(?!\/\/)/.test(source) ? `: write ${BACKUP_SOURCE_SCHEME}${source.slice(3)}` : '';
    throw refuse(source, `is not an ${BACKUP_SOURCE_SCHEME} address${hint}`);
  }
  let rest = source.slice(BACKUP_SOURCE_SCHEME.length);
  let repoType: HubRepoType = 'model';
  if (rest.startsWith(DATASETS_PREFIX)) {
    repoType = 'dataset';
    rest = rest.slice(DATASETS_PREFIX.length);
  }
  if (rest.includes('@')) throw refuse(source, 'names a revision: backups always go to the main branch');
  const parts = rest.split('/');
  const lead = parts[0] ?? '';
  if (TYPE_WORDS.has(lead) && (repoType === 'dataset' || parts.length > 2)) {
    throw refuse(source, `names a ${lead} repository: only model and dataset repositories hold backups`);
  }
  if (parts.length > 2) {
    throw refuse(source, 'has a path after the repository: the path inside it is the run’s hf_path');
  }
  return checkHubRepo({
    repoType,
    repoId: `${checkPart(source, 'owner', parts[0])}/${checkPart(source, 'name', parts[1])}`,
  });
}

/** The `backup_source` spelling of a repository (inverse of parseBackupSource). */
export function formatBackupSource(repo: HubRepo): string {
  const checked = checkHubRepo(repo);
  return `${BACKUP_SOURCE_SCHEME}${checked.repoType === 'dataset' ? DATASETS_PREFIX : ''}${checked.repoId}`;
}
