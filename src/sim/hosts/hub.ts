import type { HubRepoType } from '../../fleet/remote/backup-source.js';
import type { CheckpointMeta } from './vfs.js';

/**
 * The Hugging Face Hub as the simulated hosts see it: one in-memory store shared by every host
 * of one `createSimHosts()`, so a checkpoint uploaded on host A can be downloaded on host B.
 * Files are kept like the hosts keep them: a checkpoint is its size and metadata (step, experts,
 * model), not bytes. Every repository is private (the conductor creates them with `--private`):
 * nothing is readable without a token.
 */

export interface HubFile {
  size: number;
  /** A checkpoint's metadata; null for a truncated checkpoint or a file that is not one. */
  meta: CheckpointMeta | null;
  /** Text content of a text file; null for checkpoints. */
  text: string | null;
  uploadedAtMs: number;
}

export interface HubFileView extends HubFile {
  repoType: HubRepoType;
  repoId: string;
  path: string;
}

const repoKey = (repoType: HubRepoType, repoId: string) => `${repoType}:${repoId}`;

export class SimHub {
  private readonly repos = new Map<string, Map<string, HubFile>>();

  hasRepo(repoType: HubRepoType, repoId: string): boolean {
    return this.repos.has(repoKey(repoType, repoId));
  }

  /** `create_repo(exist_ok=True)`. */
  ensureRepo(repoType: HubRepoType, repoId: string): void {
    const key = repoKey(repoType, repoId);
    if (!this.repos.has(key)) this.repos.set(key, new Map());
  }

  get(repoType: HubRepoType, repoId: string, path: string): HubFile | undefined {
    return this.repos.get(repoKey(repoType, repoId))?.get(path);
  }

  /** A commit of one file (creating the repository, as the CLI's upload does). */
  put(repoType: HubRepoType, repoId: string, path: string, file: HubFile): void {
    this.ensureRepo(repoType, repoId);
    this.repos.get(repoKey(repoType, repoId))!.set(path, { ...file });
  }

  /** Every file, for tests and the demo. */
  files(): HubFileView[] {
    const out: HubFileView[] = [];
    for (const [key, files] of this.repos) {
      const split = key.indexOf(':');
      const repoType = key.slice(0, split) as HubRepoType;
      const repoId = key.slice(split + 1);
      for (const [path, file] of files) out.push({ repoType, repoId, path, ...file });
    }
    return out.sort((a, b) => (`${a.repoId}/${a.path}` < `${b.repoId}/${b.path}` ? -1 : 1));
  }
}
