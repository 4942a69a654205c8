import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import {
  formatBackupSource,
  type HubRepo,
  parseBackupSource,
  parseRestoreOutput,
  REMOTE_COMMANDS,
  REMOTE_TEMPLATES,
} from '../../../src/fleet/remote/index.js';
import type { Paths } from '../../../src/fleet/schema.js';

const PATHS: Paths = { workspace: '/workspace/mosaic-gpt', log: '/workspace/training.log' };
const RUN_DIR = 'runs/mosaic_small_3090';
const REPO: HubRepo = { repoType: 'model', repoId: 'mosaic-team/checkpoints' };

describe('backup_source (hf://owner/repo)', () => {
  it('parses model and dataset repositories', () => {
    expect(parseBackupSource('hf://mosaic-team/checkpoints')).toEqual({
      repoType: 'model',
      repoId: 'mosaic-team/checkpoints',
    });
    expect(parseBackupSource('hf://datasets/org_1/ckpt.v2')).toEqual({
      repoType: 'dataset',
      repoId: 'org_1/ckpt.v2',
    });
    for (const source of ['hf://a/b', 'hf://datasets/Org/Repo-1']) {
      expect(formatBackupSource(parseBackupSource(source))).toBe(source);
    }
  });

  it('refuses anything else, saying what is wrong', () => {
    const refused: [string, RegExp][] = [
      ['', /empty/],
      ['hf:team/mosaic_small_3090', /write hf:\/\/team\/mosaic_small_3090/],
      ['s3://bucket/key', /not an hf:\/\/ address/],
      ['https://huggingface.co/org/repo', /not an hf:\/\/ address/],
      ['hf://org', /no repository name/],
      ['hf://org/', /no repository name/],
      ['hf:///repo', /no repository owner/],
      ['hf://org/repo/sub/dir', /path after the repository/],
      ['hf://org/repo@main', /revision/],
      ['hf://spaces/org/app', /spaces repository/],
      ['hf://models/repo', /reads as a repository type/],
      ['hf://datasets/org', /no repository name/],
      ['hf://org/re po', /invalid repository name/],
      ['hf://org/repo;reboot', /invalid repository name/],
      ['hf://org/$(id)', /invalid repository name/],
      ['hf://-org/repo', /invalid repository owner/],
      ['hf://org/repo-', /invalid repository name/],
      ['hf://org/a--b', /invalid repository name/],
      ['hf://org/a..b', /invalid repository name/],
      ['hf://org/repo\n', /invalid repository name/],
      [`hf://org/${'x'.repeat(97)}`, /invalid repository name/],
    ];
    for (const [source, why] of refused) {
      expect(() => parseBackupSource(source), source).toThrow(ValidationError);
      expect(() => parseBackupSource(source), source).toThrow(why);
    }
  });
});

describe('checkpoint transfer templates', () => {
  it('backs a checkpoint up with the hub CLI, the token sourced from the secret file', () => {
    const line = REMOTE_COMMANDS.backupCheckpoint(PATHS, RUN_DIR, REPO, 'mosaic_small_3090', 'final.pt');
    expect(line).toBe(
      'if [ -f /workspace/.tc_env ]; then . /workspace/.tc_env; fi; timeout 3600 huggingface-cli upload ' +
        '--repo-type model --private --quiet mosaic-team/checkpoints ' +
        '/workspace/mosaic-gpt/runs/mosaic_small_3090/final.pt mosaic_small_3090/final.pt',
    );
    expect(line).not.toMatch(/token/i);
    expect(REMOTE_TEMPLATES.backupCheckpoint.match(line)).toMatchObject({
      repoId: 'mosaic-team/checkpoints',
      pathInRepo: 'mosaic_small_3090/final.pt',
      seconds: '3600',
    });
  });

  it('restores latest.pt through a temporary directory and a rename, then reports its size', () => {
    const line = REMOTE_COMMANDS.restoreCheckpoint(
      PATHS,
      RUN_DIR,
      { repoType: 'dataset', repoId: 'org/ckpts' },
      'mosaic_small_3090',
      { timeoutS: 900 },
    );
    const run = '/workspace/mosaic-gpt/runs/mosaic_small_3090';
    expect(line).toBe(
      'if [ -f /workspace/.tc_env ]; then . /workspace/.tc_env; fi; ' +
        `mkdir -p ${run}/.tc_restore && timeout 900 huggingface-cli download --repo-type dataset --quiet ` +
        `--local-dir ${run}/.tc_restore org/ckpts mosaic_small_3090/latest.pt && ` +
        `mv -f ${run}/.tc_restore/mosaic_small_3090/latest.pt ${run}/latest.pt && ` +
        `rm -rf ${run}/.tc_restore && stat -c 'restored %n %s' ${run}/latest.pt`,
    );
    expect(REMOTE_TEMPLATES.restoreCheckpoint.match(line)?.downloaded).toBe(
      `${run}/.tc_restore/mosaic_small_3090/latest.pt`,
    );
  });

  it('rejects hostile hf_path, repository, file and timeout values', () => {
    const backup = (repo: HubRepo, hfPath: string, file = 'latest.pt', timeoutS?: number) =>
      REMOTE_COMMANDS.backupCheckpoint(
        PATHS,
        RUN_DIR,
        repo,
        hfPath,
        file,
        timeoutS === undefined ? {} : { timeoutS },
      );
    const restore = (repo: HubRepo, hfPath: string) =>
      REMOTE_COMMANDS.restoreCheckpoint(PATHS, RUN_DIR, repo, hfPath);
    for (const hfPath of [
      '',
      '../other_run',
      'a/../../b',
      '/abs/path',
      '-rf',
      '.hidden',
      'a b',
      'a;reboot',
      '$(id)',
      '`id`',
      "it's",
      'x\nrm -rf /',
      'a//b',
      'trailing/',
      'x'.repeat(201),
    ]) {
      expect(() => backup(REPO, hfPath), hfPath).toThrow(ValidationError);
      expect(() => restore(REPO, hfPath), hfPath).toThrow(ValidationError);
    }
    for (const repo of [
      { repoType: 'model', repoId: 'org/repo --token x' },
      { repoType: 'model', repoId: 'org;id/repo' },
      { repoType: 'model', repoId: 'repo' },
      { repoType: 'model', repoId: 'a/b/c' },
      { repoType: 'model', repoId: '-org/repo' },
      { repoType: 'model', repoId: 'datasets/repo' },
      { repoType: 'space', repoId: 'org/repo' },
      { repoType: 'model --private', repoId: 'org/repo' },
    ] as HubRepo[]) {
      expect(() => backup(repo, 'x'), JSON.stringify(repo)).toThrow(ValidationError);
      expect(() => restore(repo, 'x'), JSON.stringify(repo)).toThrow(ValidationError);
    }
    for (const file of ['heartbeat.json', '../latest.pt', 'latest.pt; id', 'step_.pt', '*.pt', '']) {
      expect(() => backup(REPO, 'x', file), file).toThrow(ValidationError);
    }
    for (const timeoutS of [0, -1, 1.5, 86_401, Number.NaN]) {
      expect(() => backup(REPO, 'x', 'latest.pt', timeoutS), String(timeoutS)).toThrow(ValidationError);
    }
    expect(() => REMOTE_COMMANDS.restoreCheckpoint(PATHS, '../etc', REPO, 'x')).toThrow(ValidationError);
    expect(backup(REPO, 'nested/run_1.v2', 'step_2500.pt')).toContain('nested/run_1.v2/step_2500.pt');
  });

  it('reads the restored size from the last line, not from anything the CLI printed before it', () => {
    const run = '/workspace/mosaic-gpt/runs/x';
    expect(
      parseRestoreOutput(`${run}/.tc_restore/x/latest.pt\nrestored ${run}/latest.pt 4200000000\n`),
    ).toEqual({ path: `${run}/latest.pt`, bytes: 4_200_000_000 });
    expect(parseRestoreOutput(`${run}/.tc_restore/x/latest.pt\n`)).toBeNull();
    expect(parseRestoreOutput('')).toBeNull();
    expect(parseRestoreOutput('restored relative 12\n')).toBeNull();
  });
});
