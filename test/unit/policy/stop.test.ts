import { describe, expect, it } from 'vitest';
import { PolicyViolation } from '../../../src/errors.js';
import { buildTrainerArgv, stopCommand } from '../../../src/fleet/policy/index.js';
import { TRAINER_COMMAND_LINE } from '../../../src/fleet/policy/stop.js';
import { REMOTE_COMMANDS } from '../../../src/fleet/remote/index.js';
import type { Policy } from '../../../src/fleet/schema.js';
import { defaultPolicy, loadFixtureFleet, thrownBy } from './fixtures.js';

/** A policy that skipped the schema, as a buggy caller or a hand-built object could. */
function unchecked(command: string): Pick<Policy, 'stop_command'> {
  return { stop_command: command as Policy['stop_command'] };
}

describe('stopCommand', () => {
  it('stops training with killall -9 torchrun', () => {
    expect(stopCommand(defaultPolicy())).toBe('killall -9 torchrun');
  });

  it('tolerates stray whitespace in the safe command', () => {
    expect(stopCommand(unchecked('  killall   -9  torchrun '))).toBe('killall -9 torchrun');
  });

  it.each([
    'pkill -9 -f python3',
    'pkill -f python',
    'pkill -9 -f train.py',
    'killall -9 python3',
    'killall -9 torchrun; pkill -f python3',
    'kill -9 -1',
    'killall -9 torchrun && reboot',
    'killall -9 torchrun -f',
    '',
  ])('refuses %j', (command) => {
    const err = thrownBy(() => stopCommand(unchecked(command)));
    expect(err).toBeInstanceOf(PolicyViolation);
    expect((err as PolicyViolation).rule).toBe('stop_command');
  });

  it('says why when it sees pkill -f python', () => {
    expect(() => stopCommand(unchecked('pkill -9 -f python3'))).toThrow(/never pkill -f python/);
  });
});

describe('TRAINER_COMMAND_LINE (what the stop line kills besides torchrun)', () => {
  const trainer = new RegExp(TRAINER_COMMAND_LINE);
  const fleet = loadFixtureFleet();
  /** Every run on every GPU profile of the real profiles file, as the launch policy builds it. */
  const launches = fleet.runs.flatMap((run) =>
    Object.keys(run.profiles).map((key) => {
      const m = /^(.+)_(\d+)x$/.exec(key);
      if (!m) throw new Error(`unexpected profile key ${key}`);
      const gpu = { name: m[1]!.replace(/_/g, ' '), count: Number(m[2]) };
      return { key: `${run.name} ${key}`, argv: buildTrainerArgv(run, fleet, gpu) };
    }),
  );

  it('covers single-process launches: the real fleet has one (gpt2_reference on RTX_4090_1x)', () => {
    const single = launches.filter((l) => l.argv[0] === 'python3').map((l) => l.key);
    expect(single).toContain('gpt2_reference RTX_4090_1x');
  });

  it('matches every launch of the fleet, python3 -u and torchrun alike (argv joined as /proc shows it)', () => {
    expect(launches.length).toBeGreaterThan(5);
    for (const { argv } of launches) expect(argv.join(' ')).toMatch(trainer);
  });

  it.each([
    '/usr/bin/python3 /usr/local/bin/torchrun --nproc_per_node=4 experiments/train.py --config configs/x.yaml',
    '/usr/bin/python3 -u experiments/train.py --config configs/x.yaml --local-rank=0',
    '/opt/conda/bin/python3.10 -u experiments/train.py',
    '/root/.pyenv/versions/3.11.7/bin/python3 -u experiments/train.py --run-dir runs/gpt2_reference',
    '/bin/bash /root/.pyenv/shims/python3 -u experiments/train.py --config configs/x.yaml',
    'python experiments/train.py',
  ])('matches the trainer as a host lists it: %s', (cmdline) => {
    expect(cmdline).toMatch(trainer);
  });

  it.each([
    'python3 -m jupyter lab --allow-root',
    '/usr/bin/python3 -m ipykernel_launcher -f /root/.local/share/jupyter/runtime/kernel-1.json',
    'python3 /workspace/monitor.py',
    'python3 -u experiments/eval.py --ckpt runs/x/latest.pt',
    'python3 experiments/train_v2.py',
    'python3 experiments/train.py.bak',
    'vim experiments/train.py',
    'tail -f experiments/train.py',
    'grep -n lr experiments/train.py',
    'torchrun',
    'python3',
    'sshd: root@notty',
  ])('leaves other processes alone: %s', (cmdline) => {
    expect(cmdline).not.toMatch(trainer);
  });

  it('never matches the shell running the probe or the stop line (they carry the pattern)', () => {
    const paths = { workspace: '/workspace/mosaic-gpt', log: '/workspace/training.log' };
    expect(`bash -c ${REMOTE_COMMANDS.stop('killall -9 torchrun')}`).not.toMatch(trainer);
    expect(`bash -c ${REMOTE_COMMANDS.probe(paths, 'runs/x')}`).not.toMatch(trainer);
  });
});
