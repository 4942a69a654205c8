import { describe, expect, it } from 'vitest';
import { RemoteCommandError, sshHostCommands } from '../../../agents/healer/host-commands.js';
import { ConfigError, ValidationError } from '../../../src/errors.js';
import { REMOTE_COMMANDS } from '../../../src/fleet/remote/index.js';
import type { ExecOptions, ExecResult, SshTarget } from '../../../src/infra/ssh/types.js';
import { runOf, testFleet } from '../ops/fixtures.js';

const fleet = testFleet({}, { mosaic_moe: { backup_source: 'hf://mosaic-team/checkpoints' } });
const moe = runOf(fleet, 'mosaic_moe');
const REPO = { repoType: 'model', repoId: 'mosaic-team/checkpoints' } as const;
const OLD: SshTarget = { host: '10.0.0.1', port: 40001 };
const NEW: SshTarget = { host: '10.0.0.2', port: 40002 };
const TOKEN = 'hf_UnitTestToken987654321';
const LATEST = '/workspace/mosaic-gpt/runs/mosaic_small_3090/latest.pt';
const RESTORED = `${LATEST.replace('latest.pt', '.tc_restore/mosaic_small_3090/latest.pt')}\nrestored ${LATEST} 4200000000\n`;

interface Call {
  target: SshTarget;
  command: string;
  options: ExecOptions | undefined;
}

function recordingSsh(answer: (command: string) => Partial<ExecResult> = () => ({})) {
  const calls: Call[] = [];
  return {
    calls,
    ssh: {
      async exec(target: SshTarget, command: string, options?: ExecOptions): Promise<ExecResult> {
        calls.push({ target, command, options });
        return { stdout: '', stderr: '', code: 0, ...answer(command) };
      },
    },
  };
}

const restoreAnswer = (command: string) =>
  command.includes('huggingface-cli download') ? { stdout: RESTORED } : {};

describe('sshHostCommands: checkpoints through the Hub', () => {
  it('copies host to host as an upload on the old host and a download on the new one', async () => {
    const { ssh, calls } = recordingSsh(restoreAnswer);
    const hosts = sshHostCommands({
      ssh,
      paths: fleet.paths,
      policy: fleet.policy,
      secrets: { HF_TOKEN: TOKEN },
      transferTimeoutMs: 20 * 60_000,
    });
    await hosts.copyCheckpoint(OLD, NEW, moe);
    const transfer = { timeoutS: 1200 };
    expect(calls.map((c) => [c.target, c.command])).toEqual([
      [OLD, REMOTE_COMMANDS.writeSecretFile(fleet.paths)],
      [
        OLD,
        REMOTE_COMMANDS.backupCheckpoint(
          fleet.paths,
          moe.run_dir,
          REPO,
          'mosaic_small_3090',
          'latest.pt',
          transfer,
        ),
      ],
      [NEW, REMOTE_COMMANDS.writeSecretFile(fleet.paths)],
      [NEW, REMOTE_COMMANDS.restoreCheckpoint(fleet.paths, moe.run_dir, REPO, 'mosaic_small_3090', transfer)],
    ]);
    // The token travels on stdin only; transfers get the long bound plus slack for `timeout`.
    for (const call of calls) expect(call.command).not.toContain(TOKEN);
    expect(String(calls[0]?.options?.stdin)).toContain(TOKEN);
    expect(calls[1]?.options?.timeoutMs).toBe(20 * 60_000 + 30_000);
    expect(calls[3]?.options?.timeoutMs).toBe(20 * 60_000 + 30_000);
  });

  it('backs up the named file and restores from the given source', async () => {
    const { ssh, calls } = recordingSsh(restoreAnswer);
    const hosts = sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy });
    await hosts.backupCheckpoint(OLD, moe, 'final.pt', 'hf://datasets/other/backups');
    await hosts.restoreCheckpoint(NEW, moe, 'hf://datasets/other/backups');
    // No secrets configured: nothing is written, the host's own login (if any) is used.
    expect(calls.map((c) => c.command)).toEqual([
      REMOTE_COMMANDS.backupCheckpoint(
        fleet.paths,
        moe.run_dir,
        { repoType: 'dataset', repoId: 'other/backups' },
        'mosaic_small_3090',
        'final.pt',
      ),
      REMOTE_COMMANDS.restoreCheckpoint(
        fleet.paths,
        moe.run_dir,
        { repoType: 'dataset', repoId: 'other/backups' },
        'mosaic_small_3090',
      ),
    ]);
    expect(calls[0]?.options?.timeoutMs).toBe(60 * 60_000 + 30_000);
  });

  it('refuses a missing or malformed backup_source and a bad file name before touching a host', async () => {
    const { ssh, calls } = recordingSsh();
    const hosts = sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy });
    const bare = { ...moe, backup_source: undefined };
    await expect(hosts.copyCheckpoint(OLD, NEW, bare)).rejects.toBeInstanceOf(ConfigError);
    await expect(hosts.copyCheckpoint(OLD, NEW, bare)).rejects.toThrow(/mosaic_moe has no backup_source/);
    await expect(hosts.restoreCheckpoint(NEW, moe, '')).rejects.toBeInstanceOf(ConfigError);
    await expect(hosts.restoreCheckpoint(NEW, moe, 's3://bucket')).rejects.toBeInstanceOf(ValidationError);
    await expect(hosts.backupCheckpoint(OLD, moe, 'final.pt', 'hf://a/b;reboot')).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(hosts.backupCheckpoint(OLD, moe, '../../etc/passwd', 'hf://a/b')).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(calls).toEqual([]);
  });

  it('names the CLI exception, a timeout, and a restore that reported no checkpoint', async () => {
    const traceback =
      'Traceback (most recent call last):\n  File "x", line 8, in <module>\n' +
      'huggingface_hub.errors.EntryNotFoundError: 404 Client Error.\n\nEntry Not Found for url: https://x.\n';
    const failing = recordingSsh(() => ({ code: 1, stderr: traceback }));
    const hosts = sshHostCommands({ ssh: failing.ssh, paths: fleet.paths, policy: fleet.policy });
    const restore = hosts.restoreCheckpoint(NEW, moe, 'hf://mosaic-team/checkpoints');
    await expect(restore).rejects.toBeInstanceOf(RemoteCommandError);
    await expect(restore).rejects.toThrow(
      /\[huggingface_hub\.errors\.EntryNotFoundError: 404 Client Error\.\]/,
    );

    const slow = recordingSsh(() => ({ code: 124 }));
    await expect(
      sshHostCommands({
        ssh: slow.ssh,
        paths: fleet.paths,
        policy: fleet.policy,
        transferTimeoutMs: 5000,
      }).backupCheckpoint(OLD, moe, 'latest.pt', 'hf://mosaic-team/checkpoints'),
    ).rejects.toThrow(/timed out after 5 s/);

    const silent = recordingSsh(() => ({ stdout: `${LATEST}\n` }));
    await expect(
      sshHostCommands({ ssh: silent.ssh, paths: fleet.paths, policy: fleet.policy }).restoreCheckpoint(
        NEW,
        moe,
        'hf://mosaic-team/checkpoints',
      ),
    ).rejects.toThrow(/did not report a non-empty checkpoint/);
    const empty = recordingSsh(() => ({ stdout: `restored ${LATEST} 0\n` }));
    await expect(
      sshHostCommands({ ssh: empty.ssh, paths: fleet.paths, policy: fleet.policy }).restoreCheckpoint(
        NEW,
        moe,
        'hf://mosaic-team/checkpoints',
      ),
    ).rejects.toBeInstanceOf(RemoteCommandError);
  });

  it('stops a copy when the old host cannot upload: nothing is downloaded', async () => {
    const { ssh, calls } = recordingSsh((command) =>
      command.includes('upload') ? { code: 1, stderr: 'FileNotFoundError: No such file or directory\n' } : {},
    );
    const hosts = sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy });
    await expect(hosts.copyCheckpoint(OLD, NEW, moe)).rejects.toThrow(/uploading latest\.pt/);
    expect(calls.map((c) => c.target)).toEqual([OLD]);
  });
});
