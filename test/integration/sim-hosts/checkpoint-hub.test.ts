import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RemoteCommandError, sshHostCommands } from '../../../agents/healer/host-commands.js';
import { manualClock } from '../../../src/clock.js';
import { ConfigError, ValidationError } from '../../../src/errors.js';
import {
  type HubRepo,
  parseCheckpointList,
  parseLines,
  parseRestoreOutput,
  REMOTE_COMMANDS,
  renderSecretEnvFile,
} from '../../../src/fleet/remote/index.js';
import type { Paths } from '../../../src/fleet/schema.js';
import { memoryHostKeyStore } from '../../../src/infra/ssh/host-keys.js';
import { createSshPool } from '../../../src/infra/ssh/pool.js';
import type { SshTarget } from '../../../src/infra/ssh/types.js';
import { silentLogger } from '../../../src/logger.js';
import { createSimHosts, HUB_CLI_ERRORS, uploadedUrl } from '../../../src/sim/hosts/index.js';
import type { SimHostSpec } from '../../../src/sim/types.js';
import { runOf, testFleet } from '../../unit/ops/fixtures.js';
import { clientKeyPair, connect, type SshSession } from './ssh-exec.js';

/**
 * Checkpoints moving between simulated hosts through the simulated Hugging Face Hub, over SSH,
 * with the command templates: uploaded on one host, downloaded on another, and the trainer there
 * resuming from exactly that step. Then the same through the healer's HostCommands and the pool.
 */

const PATHS: Paths = { workspace: '/workspace/mosaic-gpt', log: '/workspace/training.log' };
const RUN_DIR = 'runs/mosaic_small_3090';
const HF_PATH = 'mosaic_small_3090';
const CONFIG = 'configs/mosaic_small_resume.yaml';
const ARGV = [
  'torchrun',
  '--nproc_per_node=4',
  'experiments/train.py',
  '--config',
  CONFIG,
  '--run-dir',
  RUN_DIR,
  '--batch-size',
  '4',
  '--grad-accum',
  '16',
];
const REPO: HubRepo = { repoType: 'model', repoId: 'mosaic-team/checkpoints' };
const TOKEN = 'hf_simHubToken0123456789';
const LATEST = `${PATHS.workspace}/${RUN_DIR}/latest.pt`;
const MINUTE = 60_000;

describe('checkpoints through the simulated hub', () => {
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const key = clientKeyPair();
  const sim = createSimHosts({ clock, authorizedKey: key.publicKey, logger: silentLogger, paths: PATHS });
  const sessions: SshSession[] = [];
  let nextId = 7000;

  async function host(spec: Partial<SimHostSpec> = {}) {
    nextId += 1;
    const full: SimHostSpec = {
      instanceId: nextId,
      gpuName: 'RTX 3090',
      numGpus: 4,
      diskGb: 200,
      env: {},
      label: 'hub-test',
      ...spec,
    };
    const endpoint = await sim.create(full);
    const ssh = await connect(endpoint.sshPort, key.privateKey, { hostKey: endpoint.hostKey });
    sessions.push(ssh);
    const run = (command: string, options: { stdin?: string } = {}) => ssh.run(command, options);
    return {
      id: full.instanceId,
      endpoint,
      sim: sim.get(full.instanceId)!,
      run,
      withToken: () =>
        run(REMOTE_COMMANDS.writeSecretFile(PATHS), { stdin: renderSecretEnvFile({ HF_TOKEN: TOKEN }) }),
      checkpoints: async () =>
        parseCheckpointList((await run(REMOTE_COMMANDS.listCheckpoints(PATHS, RUN_DIR))).stdout),
      log: async () => parseLines((await run(REMOTE_COMMANDS.logTail(PATHS.log, 500))).stdout),
    };
  }

  /** A host that trained the MoE run from step 10,000 for two hours and was stopped. */
  async function trainedHost() {
    const h = await host();
    h.sim.seedRun({ runDir: RUN_DIR, config: CONFIG, step: 10_000 });
    expect((await h.run(REMOTE_COMMANDS.launch(PATHS, ARGV))).code).toBe(0);
    await clock.advance(120 * MINUTE);
    await h.run(REMOTE_COMMANDS.stop('killall -9 torchrun'));
    const latest = h.sim.vfs.get(LATEST);
    if (latest?.kind !== 'blob' || !latest.meta) throw new Error('no latest.pt');
    expect(latest.meta.step).toBeGreaterThan(10_000);
    return { ...h, step: latest.meta.step, size: latest.size };
  }

  afterEach(() => {
    for (const s of sessions.splice(0)) s.close();
  });

  afterAll(async () => {
    await sim.closeAll();
  });

  it('backs latest.pt up on one host and restores it on another, where training resumes from it', async () => {
    const a = await trainedHost();
    await a.withToken();
    const backup = await a.run(REMOTE_COMMANDS.backupCheckpoint(PATHS, RUN_DIR, REPO, HF_PATH, 'latest.pt'));
    expect(backup).toEqual({
      code: 0,
      stderr: '',
      stdout: `https://huggingface.co/mosaic-team/checkpoints/blob/main/${HF_PATH}/latest.pt\n`,
    });
    expect(sim.hub.get('model', REPO.repoId, `${HF_PATH}/latest.pt`)).toMatchObject({
      size: a.size,
      meta: { step: a.step, nExperts: 4, model: 'mosaic_moe' },
    });

    const b = await host();
    expect(await b.checkpoints()).toEqual([]);
    await b.withToken();
    const restore = await b.run(REMOTE_COMMANDS.restoreCheckpoint(PATHS, RUN_DIR, REPO, HF_PATH));
    expect(restore.code).toBe(0);
    expect(restore.stderr).toBe('');
    expect(restore.stdout).toBe(
      `${PATHS.workspace}/${RUN_DIR}/.tc_restore/${HF_PATH}/latest.pt\nrestored ${LATEST} ${a.size}\n`,
    );
    expect(parseRestoreOutput(restore.stdout)).toEqual({ path: LATEST, bytes: a.size });
    expect(await b.checkpoints()).toEqual([{ name: 'latest.pt', bytes: a.size, step: null }]);
    // The temporary directory is gone: only the run's own files are left.
    expect((await b.run(`ls -a ${PATHS.workspace}/${RUN_DIR}`)).stdout).toBe('.\n..\nlatest.pt\n');

    expect((await b.run(REMOTE_COMMANDS.launch(PATHS, ARGV))).code).toBe(0);
    await clock.advance(5 * MINUTE);
    expect(await b.log()).toContain(
      `[HEARTBEAT] RESUMED step=${a.step} max=50000 checkpoint=${RUN_DIR}/latest.pt`,
    );
    const status = b.sim.trainerStatus();
    expect(status?.phase).toBe('training');
    expect(status?.step).toBeGreaterThan(a.step);
  });

  it('fails like the real CLI without a token, and never touches the hub or latest.pt then', async () => {
    const a = await trainedHost();
    const before = sim.hub.files().length;
    const upload = await a.run(
      REMOTE_COMMANDS.backupCheckpoint(PATHS, RUN_DIR, REPO, 'no_token', 'latest.pt'),
    );
    expect(upload.code).toBe(1);
    expect(upload.stdout).toBe('');
    expect(upload.stderr).toMatch(/^Traceback \(most recent call last\):\n/);
    expect(upload.stderr.endsWith(HUB_CLI_ERRORS.uploadUnauthorized())).toBe(true);
    expect(upload.stderr).toContain('401 Client Error: Unauthorized');
    expect(sim.hub.files()).toHaveLength(before);

    // A restore without a token: 401, and the host's own latest.pt is left as it was.
    const restore = await a.run(REMOTE_COMMANDS.restoreCheckpoint(PATHS, RUN_DIR, REPO, HF_PATH));
    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain('RepositoryNotFoundError: 401 Client Error.');
    expect(restore.stderr).toContain('make sure you are authenticated');
    const latest = a.sim.vfs.get(LATEST);
    expect(latest?.kind === 'blob' && latest.meta?.step).toBe(a.step);
  });

  it('reports a missing local file before the token, and missing repositories and entries', async () => {
    const a = await trainedHost();
    const final = `${PATHS.workspace}/${RUN_DIR}/final.pt`;
    const noFile = await a.run(REMOTE_COMMANDS.backupCheckpoint(PATHS, RUN_DIR, REPO, HF_PATH, 'final.pt'));
    expect(noFile.code).toBe(1);
    expect(noFile.stderr.endsWith(`FileNotFoundError: No such file or directory: '${final}'.\n`)).toBe(true);

    await a.withToken();
    const otherRepo: HubRepo = { repoType: 'model', repoId: 'mosaic-team/never-created' };
    const noRepo = await a.run(REMOTE_COMMANDS.restoreCheckpoint(PATHS, RUN_DIR, otherRepo, HF_PATH));
    expect(noRepo.code).toBe(1);
    expect(noRepo.stderr).toContain(
      'RepositoryNotFoundError: 404 Client Error.\n\nRepository Not Found for url: ' +
        `https://huggingface.co/mosaic-team/never-created/resolve/main/${HF_PATH}/latest.pt.`,
    );
    const noEntry = await a.run(REMOTE_COMMANDS.restoreCheckpoint(PATHS, RUN_DIR, REPO, 'never_backed_up'));
    expect(noEntry.code).toBe(1);
    expect(noEntry.stderr).toContain(
      'EntryNotFoundError: 404 Client Error.\n\nEntry Not Found for url: ' +
        'https://huggingface.co/mosaic-team/checkpoints/resolve/main/never_backed_up/latest.pt.',
    );
  });

  it('takes the token from the container environment given at rent, and keeps dataset repos apart', async () => {
    const a = await host({ env: { HF_TOKEN: TOKEN } });
    a.sim.seedRun({ runDir: RUN_DIR, config: CONFIG, step: 7500 });
    const datasets: HubRepo = { repoType: 'dataset', repoId: REPO.repoId };
    const up = await a.run(REMOTE_COMMANDS.backupCheckpoint(PATHS, RUN_DIR, datasets, 'rent_env', 'best.pt'));
    expect(up.stdout).toBe(
      `${uploadedUrl({ repoType: 'dataset', repoId: REPO.repoId, pathInRepo: 'rent_env/best.pt' })}\n`,
    );
    expect(up.stdout).toContain('https://huggingface.co/datasets/mosaic-team/checkpoints/blob/main/');
    expect(sim.hub.get('dataset', REPO.repoId, 'rent_env/best.pt')?.meta?.step).toBe(7500);
    expect(sim.hub.get('model', REPO.repoId, 'rent_env/best.pt')).toBeUndefined();
  });

  it('moves checkpoints with the healer HostCommands over the SSH pool', async () => {
    const fleet = testFleet({}, { mosaic_moe: { backup_source: 'hf://mosaic-team/pool-test' } });
    const spec = runOf(fleet, 'mosaic_moe');
    const pool = createSshPool({
      privateKey: key.privateKey,
      hostKeys: memoryHostKeyStore(),
      logger: silentLogger,
      commandTimeoutMs: 5000,
    });
    const hostsWith = (secrets: Record<string, string>) =>
      sshHostCommands({
        ssh: pool,
        paths: fleet.paths,
        policy: fleet.policy,
        secrets,
        transferTimeoutMs: 600_000,
      });
    const hosts = hostsWith({ HF_TOKEN: TOKEN });
    try {
      const a = await trainedHost();
      const b = await host();
      const from: SshTarget = { host: a.endpoint.sshHost, port: a.endpoint.sshPort };
      const to: SshTarget = { host: b.endpoint.sshHost, port: b.endpoint.sshPort };
      await hosts.pinHostKey(from);
      await hosts.pinHostKey(to);

      // Old host reachable: it uploads, the new host downloads, the trainer resumes there.
      await hosts.copyCheckpoint(from, to, spec);
      expect(sim.hub.get('model', 'mosaic-team/pool-test', `${HF_PATH}/latest.pt`)?.meta?.step).toBe(a.step);
      expect((await hosts.probe(to, spec)).checkpoints.map((c) => c.name)).toEqual(['latest.pt']);
      // The token reached the hosts through the private file, never a command line.
      expect(b.sim.vfs.get('/workspace/.tc_env')).toMatchObject({ mode: 0o600 });
      await hosts.launch(to, ARGV);
      await clock.advance(5 * MINUTE);
      expect(await hosts.logTail(to, 200)).toContain(
        `[HEARTBEAT] RESUMED step=${a.step} max=50000 checkpoint=${RUN_DIR}/latest.pt`,
      );

      // The run completes on the new host; final.pt is backed up beside latest.pt.
      sim.inject(b.id, { kind: 'complete' });
      await hosts.backupCheckpoint(to, spec, 'final.pt', spec.backup_source!);
      expect(sim.hub.get('model', 'mosaic-team/pool-test', `${HF_PATH}/final.pt`)?.meta?.step).toBe(50_000);

      // A third host restores from the backup alone.
      const c = await host();
      const third: SshTarget = { host: c.endpoint.sshHost, port: c.endpoint.sshPort };
      await hosts.pinHostKey(third);
      await hosts.restoreCheckpoint(third, spec, spec.backup_source!);
      expect(c.sim.vfs.get(LATEST)).toMatchObject({ meta: { step: a.step } });

      // Failures: no backup_source, a malformed one, no token anywhere, a missing file.
      const bare = { ...spec, backup_source: undefined };
      await expect(hosts.copyCheckpoint(from, to, bare)).rejects.toBeInstanceOf(ConfigError);
      await expect(hosts.restoreCheckpoint(third, spec, 'hf:team/x')).rejects.toBeInstanceOf(ValidationError);
      const d = await host();
      const fresh: SshTarget = { host: d.endpoint.sshHost, port: d.endpoint.sshPort };
      await hosts.pinHostKey(fresh);
      const noToken = hostsWith({}).restoreCheckpoint(fresh, spec, spec.backup_source!);
      await expect(noToken).rejects.toBeInstanceOf(RemoteCommandError);
      await expect(noToken).rejects.toThrow(/401 Client Error/);
      await expect(hosts.backupCheckpoint(third, spec, 'final.pt', spec.backup_source!)).rejects.toThrow(
        /FileNotFoundError/,
      );
    } finally {
      await pool.close();
    }
  });
});
