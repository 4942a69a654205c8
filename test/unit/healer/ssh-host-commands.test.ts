import { describe, expect, it } from 'vitest';
import { RemoteCommandError, sshHostCommands } from '../../../agents/healer/host-commands.js';
import {
  PROBE_END_MARK,
  PROBE_PART_MARK,
  PROBE_RC_MARK,
  REMOTE_COMMANDS,
} from '../../../src/fleet/remote/index.js';
import type { ExecOptions, ExecResult, SshTarget } from '../../../src/infra/ssh/types.js';
import { runOf, testFleet } from '../ops/fixtures.js';

const fleet = testFleet();
const moe = runOf(fleet, 'mosaic_moe');
const target: SshTarget = { host: '10.1.2.3', port: 40022 };
const TOKEN = 'hf_SuperSecretToken123';

interface Call {
  command: string;
  options: ExecOptions | undefined;
}

function recordingSsh(answer: (command: string) => Partial<ExecResult> = () => ({})) {
  const calls: Call[] = [];
  return {
    calls,
    ssh: {
      async exec(_t: SshTarget, command: string, options?: ExecOptions): Promise<ExecResult> {
        calls.push({ command, options });
        return { stdout: '', stderr: '', code: 0, ...answer(command) };
      },
    },
  };
}

function probeOutput(parts: Record<string, string>): string {
  const sections = Object.entries(parts).map(
    ([part, out]) => `${PROBE_PART_MARK} ${part}\n${out}\n${PROBE_RC_MARK} ${part} 0\n`,
  );
  return `${sections.join('')}${PROBE_END_MARK}\n`;
}

describe('sshHostCommands', () => {
  it('stops with the stop line built from the policy command; stopped and nothing running both resolve', async () => {
    for (const stdout of ['stopped\n', 'not running\n']) {
      const { ssh, calls } = recordingSsh(() => ({ stdout }));
      await sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy }).stop(target);
      expect(calls.map((c) => c.command)).toEqual([REMOTE_COMMANDS.stop('killall -9 torchrun')]);
    }
  });

  it('fails the stop when a trainer survived it, so nothing is launched next to it', async () => {
    const stderr = 'trainer still running after kill -9: 4242\n';
    const { ssh } = recordingSsh(() => ({ code: 1, stderr }));
    const stop = sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy }).stop(target);
    await expect(stop).rejects.toBeInstanceOf(RemoteCommandError);
    await expect(stop).rejects.toThrow(/exited with 1: trainer still running after kill -9: 4242/);
  });

  it('fails the stop when the host could not look for the trainer, or reported no outcome', async () => {
    for (const answer of [
      { code: 127, stderr: 'bash: line 1: pgrep: command not found\n' },
      { code: 0, stdout: '' },
      { code: null, signal: 'KILL' },
    ]) {
      const { ssh } = recordingSsh(() => answer);
      await expect(
        sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy }).stop(target),
      ).rejects.toBeInstanceOf(RemoteCommandError);
    }
  });

  it('sends secrets on stdin into a private file, never on a command line, then launches', async () => {
    const { ssh, calls } = recordingSsh((command) => (command.includes('nohup') ? { stdout: '4242\n' } : {}));
    const hosts = sshHostCommands({
      ssh,
      paths: fleet.paths,
      policy: fleet.policy,
      secrets: { HF_TOKEN: TOKEN },
    });
    const argv = ['torchrun', '--nproc_per_node=4', 'experiments/train.py', '--config', moe.config];
    const { pid } = await hosts.launch(target, argv);
    expect(pid).toBe(4242);
    expect(calls).toHaveLength(2);
    for (const call of calls) expect(call.command).not.toContain(TOKEN);
    expect(String(calls[0]?.options?.stdin)).toContain(`HF_TOKEN='${TOKEN}'`);
    expect(calls[0]?.command).toMatch(/umask 077/);
    expect(calls[1]?.command).toContain(
      'torchrun --nproc_per_node=4 experiments/train.py --config configs/mosaic_small_resume.yaml',
    );
    expect(calls[1]?.command).toContain('/workspace/training.log');
  });

  it('fails a launch that exits non-zero', async () => {
    const { ssh } = recordingSsh(() => ({ code: 1, stderr: 'cd: no such directory' }));
    const hosts = sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy });
    await expect(hosts.launch(target, ['python3', '-u', 'experiments/train.py'])).rejects.toBeInstanceOf(
      RemoteCommandError,
    );
  });

  it('deletes only the named step checkpoints inside the run directory', async () => {
    const { ssh, calls } = recordingSsh();
    const hosts = sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy });
    await hosts.cleanupCheckpoints(target, moe, ['step_2500.pt', 'step_5000.pt']);
    expect(calls[0]?.command).toBe(
      'rm -f /workspace/mosaic-gpt/runs/mosaic_small_3090/step_2500.pt /workspace/mosaic-gpt/runs/mosaic_small_3090/step_5000.pt',
    );
    await hosts.cleanupCheckpoints(target, moe, []);
    expect(calls).toHaveLength(1);
  });

  it('reads the expert count of the config on the host', async () => {
    const { ssh, calls } = recordingSsh(() => ({ stdout: '4\n' }));
    const hosts = sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy });
    expect(await hosts.configExperts(target, moe.config)).toBe(4);
    expect(calls[0]?.command).toContain('/workspace/mosaic-gpt/configs/mosaic_small_resume.yaml');
  });

  it('pins the host key of a new host by asking the pool to learn it', async () => {
    const { ssh, calls } = recordingSsh();
    await sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy }).pinHostKey(target);
    expect(calls[0]?.options?.learnHostKey).toBe(true);
  });

  it('parses a probe and refuses one that was cut off', async () => {
    const heartbeat = '{"step": 12340, "loss": NaN, "ts": 1767225600, "pid": 1}';
    const full = probeOutput({
      time: '1767225610',
      heartbeat,
      alive: '4242',
      disk: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 1000 800 200 80% /',
      checkpoints: 'latest.pt 100\nstep_2500.pt 100',
    });
    const { ssh } = recordingSsh(() => ({ stdout: full }));
    const probe = await sshHostCommands({ ssh, paths: fleet.paths, policy: fleet.policy }).probe(target, moe);
    expect(probe.hostTime).toBe(1767225610);
    expect(probe.heartbeat?.step).toBe(12340);
    expect(probe.processAlive).toBe(true);
    expect(probe.disk?.usedPct).toBe(80);
    expect(probe.checkpoints.map((c) => c.name)).toEqual(['step_2500.pt', 'latest.pt']);

    const { ssh: cut } = recordingSsh(() => ({ stdout: full.slice(0, 60) }));
    await expect(
      sshHostCommands({ ssh: cut, paths: fleet.paths, policy: fleet.policy }).probe(target, moe),
    ).rejects.toBeInstanceOf(RemoteCommandError);
  });
});
