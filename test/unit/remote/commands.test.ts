import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { TRAINER_COMMAND_LINE } from '../../../src/fleet/policy/stop.js';
import { parseStopOutput, STOP_NOT_RUNNING, STOP_STOPPED } from '../../../src/fleet/remote/commands.js';
import {
  PROBE_PARTS,
  REMOTE_COMMANDS,
  REMOTE_TEMPLATES,
  type RemoteCommandName,
  renderSecretEnvFile,
  secretEnvFile,
} from '../../../src/fleet/remote/index.js';
import type { Paths } from '../../../src/fleet/schema.js';

const PATHS: Paths = { workspace: '/workspace/mosaic-gpt', log: '/workspace/training.log' };
const ARGV = [
  'torchrun',
  '--nproc_per_node=4',
  'experiments/train.py',
  '--config',
  'configs/mosaic_small_resume.yaml',
  '--run-dir',
  'runs/mosaic_small_3090',
  '--batch-size',
  '4',
  '--grad-accum',
  '16',
];

const TRAINER = `'${TRAINER_COMMAND_LINE}'`;
/** The whole stop line, as a reader of the host's shell history would see it. */
const STOP_LINE =
  `pgrep -f ${TRAINER} >/dev/null; was=$?; if [ $was -gt 1 ]; then exit $was; fi; ` +
  `killall -9 torchrun 2>/dev/null; pkill -9 -f ${TRAINER}; ` +
  `for i in 1 2 3 4 5 6 7 8 9 10; do pgrep -f ${TRAINER} >/dev/null; if [ $? -eq 1 ]; then ` +
  `if [ $was -eq 0 ]; then echo stopped; else echo 'not running'; fi; exit 0; fi; sleep 0.3; done; ` +
  `echo "trainer still running after kill -9: $(pgrep -d ' ' -f ${TRAINER})" >&2; exit 1`;

/** One rendered example of every command. */
const EXAMPLES: Record<RemoteCommandName, string> = {
  probe: REMOTE_COMMANDS.probe(PATHS, 'runs/mosaic_small_3090'),
  hostTime: REMOTE_COMMANDS.hostTime(),
  readFile: REMOTE_COMMANDS.readFile('/workspace/mosaic-gpt/runs/x/heartbeat.json'),
  logTail: REMOTE_COMMANDS.logTail(PATHS.log, 50),
  logMtime: REMOTE_COMMANDS.logMtime(PATHS.log),
  nvidiaSmi: REMOTE_COMMANDS.nvidiaSmi(),
  diskUsage: REMOTE_COMMANDS.diskUsage(PATHS.workspace),
  listCheckpoints: REMOTE_COMMANDS.listCheckpoints(PATHS, 'runs/x'),
  trainerAlive: REMOTE_COMMANDS.trainerAlive(),
  stop: REMOTE_COMMANDS.stop('killall -9 torchrun'),
  cleanupCheckpoints: REMOTE_COMMANDS.cleanupCheckpoints(PATHS, 'runs/x', ['step_2500.pt']),
  launch: REMOTE_COMMANDS.launch(PATHS, ARGV),
  configExperts: REMOTE_COMMANDS.configExperts(PATHS, 'configs/mosaic_small.yaml'),
  writeSecretFile: REMOTE_COMMANDS.writeSecretFile(PATHS),
  backupCheckpoint: REMOTE_COMMANDS.backupCheckpoint(
    PATHS,
    'runs/x',
    { repoType: 'model', repoId: 'team/ckpts' },
    'x',
    'final.pt',
  ),
  restoreCheckpoint: REMOTE_COMMANDS.restoreCheckpoint(
    PATHS,
    'runs/x',
    { repoType: 'model', repoId: 'team/ckpts' },
    'x',
  ),
};

describe('the remote command registry', () => {
  it('renders the documented command lines', () => {
    expect(EXAMPLES.hostTime).toBe('date +%s');
    expect(EXAMPLES.stop).toBe(STOP_LINE);
    expect(EXAMPLES.nvidiaSmi).toBe(
      'nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu --format=csv,noheader,nounits',
    );
    expect(EXAMPLES.logTail).toBe('tail -n 50 /workspace/training.log');
    expect(EXAMPLES.logMtime).toBe('stat -c %Y /workspace/training.log');
    expect(EXAMPLES.cleanupCheckpoints).toBe('rm -f /workspace/mosaic-gpt/runs/x/step_2500.pt');
    expect(EXAMPLES.listCheckpoints).toBe(
      "find /workspace/mosaic-gpt/runs/x -maxdepth 1 -type f -name '*.pt' -printf '%f %s\\n'",
    );
  });

  it('launches detached from the workspace, logging to the log, printing the pid', () => {
    expect(EXAMPLES.launch).toBe(
      'cd /workspace/mosaic-gpt || exit 1; if [ -f /workspace/.tc_env ]; then . /workspace/.tc_env; fi; ' +
        'nohup setsid torchrun --nproc_per_node=4 experiments/train.py --config configs/mosaic_small_resume.yaml ' +
        '--run-dir runs/mosaic_small_3090 --batch-size 4 --grad-accum 16 > /workspace/training.log 2>&1 < /dev/null & echo $!',
    );
    // `cd x && nohup ... &` would background the cd too and hold the SSH channel open.
    expect(EXAMPLES.launch).not.toMatch(/&& nohup/);
  });

  it('quotes hostile argv values instead of letting them reach the shell', () => {
    const line = REMOTE_COMMANDS.launch(PATHS, [
      'python3',
      '-u',
      'experiments/train.py',
      '--note',
      '$(reboot); `id`',
    ]);
    expect(line).toContain(`--note '$(reboot); \`id\`'`);
    expect(REMOTE_TEMPLATES.launch.match(line)?.argv).toEqual([
      'python3',
      '-u',
      'experiments/train.py',
      '--note',
      '$(reboot); `id`',
    ]);
  });

  it('probes every part in one read-only command, in order, ending with the end marker', () => {
    const probe = EXAMPLES.probe;
    const positions = PROBE_PARTS.map((p) => probe.indexOf(`echo __TC_PART__ ${p};`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(probe).toContain('cat /workspace/mosaic-gpt/runs/mosaic_small_3090/heartbeat.json');
    expect(probe).toContain(`pgrep -f '${TRAINER_COMMAND_LINE}'`);
    expect(probe).toContain('df -P /workspace/mosaic-gpt');
    expect(probe).toContain('tail -n 50 /workspace/training.log');
    expect(probe.trimEnd().endsWith('echo __TC_END__')).toBe(true);
    for (const mutating of ['rm ', 'kill', 'nohup', '>/', '> /', 'chmod', 'mv '])
      expect(probe).not.toContain(mutating);
  });

  it('has a template for every builder, and each example is recognised by its own template only', () => {
    expect(Object.keys(REMOTE_TEMPLATES).sort()).toEqual(Object.keys(REMOTE_COMMANDS).sort());
    for (const [name, line] of Object.entries(EXAMPLES)) {
      const matching = Object.entries(REMOTE_TEMPLATES)
        .filter(([, t]) => t.match(line) !== null)
        .map(([n]) => n);
      expect(matching).toEqual([name]);
    }
  });

  it('deletes only numbered checkpoints', () => {
    for (const bad of [
      'latest.pt',
      'best.pt',
      'final.pt',
      'step_1.pt.bak',
      '../step_1.pt',
      'step_*.pt',
      'x',
    ]) {
      expect(() => REMOTE_COMMANDS.cleanupCheckpoints(PATHS, 'runs/x', [bad])).toThrow(ValidationError);
    }
    expect(() => REMOTE_COMMANDS.cleanupCheckpoints(PATHS, 'runs/x', [])).toThrow(/empty/);
    expect(REMOTE_COMMANDS.cleanupCheckpoints(PATHS, 'runs/x', ['step_5000.pt', 'step_5000.pt'])).toBe(
      'rm -f /workspace/mosaic-gpt/runs/x/step_5000.pt',
    );
  });

  it('accepts only killall -9 <name> as the policy part of the stop line', () => {
    expect(REMOTE_COMMANDS.stop('  killall   -9 torchrun ')).toBe(STOP_LINE);
    for (const bad of [
      'pkill -9 -f python3',
      'killall torchrun',
      'killall -9 torchrun; reboot',
      'kill -9 1',
    ]) {
      expect(() => REMOTE_COMMANDS.stop(bad)).toThrow(ValidationError);
    }
  });

  it('stops with the policy command, then kills the trainer script and nothing broader', () => {
    const line = EXAMPLES.stop;
    const pattern = `'${TRAINER_COMMAND_LINE}'`;
    expect(line).toContain('killall -9 torchrun 2>/dev/null;');
    expect(line).toContain(`pkill -9 -f ${pattern};`);
    expect(line.indexOf('killall -9 torchrun')).toBeLessThan(line.indexOf('pkill'));
    // Every pkill and pgrep in the line is narrowed to the trainer's command line.
    const skeleton = line.split(pattern).join('TRAINER');
    expect(skeleton.match(/\bp(?:kill|grep)\b[^;)]*/g)).toEqual([
      'pgrep -f TRAINER >/dev/null',
      'pkill -9 -f TRAINER',
      'pgrep -f TRAINER >/dev/null',
      "pgrep -d ' ' -f TRAINER",
    ]);
    expect(line).not.toMatch(/pkill[^;]*python3'?;/);
    expect(line).not.toMatch(/killall[^;]*python/);
    expect(line).toContain(`for i in 1 2 3 4 5 6 7 8 9 10; do`);
    expect(line).toContain(`echo ${STOP_STOPPED}; else echo '${STOP_NOT_RUNNING}'; fi; exit 0;`);
    expect(line).toMatch(/"trainer still running after kill -9: \$\(pgrep -d ' ' -f '[^']+'\)" >&2; exit 1$/);
    expect(REMOTE_TEMPLATES.stop.match(line)).toEqual({ process: 'torchrun' });
  });

  it('reads the outcome of a stop line that exited 0', () => {
    expect(parseStopOutput('stopped\n')).toBe('stopped');
    expect(parseStopOutput('not running\n')).toBe('not_running');
    expect(parseStopOutput('')).toBeNull();
    expect(parseStopOutput('4242\n')).toBeNull();
  });

  it('rejects unsafe paths, run dirs and counts', () => {
    expect(() => REMOTE_COMMANDS.probe({ ...PATHS, workspace: 'relative' }, 'runs/x')).toThrow(
      ValidationError,
    );
    expect(() => REMOTE_COMMANDS.probe(PATHS, 'runs/../../etc')).toThrow(ValidationError);
    expect(() => REMOTE_COMMANDS.probe(PATHS, '/abs')).toThrow(ValidationError);
    expect(() => REMOTE_COMMANDS.probe(PATHS, 'runs/x', { logLines: 0 })).toThrow(ValidationError);
    expect(() => REMOTE_COMMANDS.readFile('/etc/pass wd')).toThrow(ValidationError);
    expect(() => REMOTE_COMMANDS.logTail(PATHS.log, 1.5)).toThrow(ValidationError);
    expect(() => REMOTE_COMMANDS.configExperts(PATHS, '-c.yaml')).toThrow(ValidationError);
    expect(() => REMOTE_COMMANDS.launch(PATHS, [])).toThrow(ValidationError);
    expect(() => REMOTE_COMMANDS.launch(PATHS, ['-x'])).toThrow(ValidationError);
    expect(() => REMOTE_COMMANDS.launch(PATHS, ['python3', 'a\nb'])).toThrow(ValidationError);
  });

  it('keeps secrets off the command line: a mode-600 file written from stdin', () => {
    expect(secretEnvFile(PATHS)).toBe('/workspace/.tc_env');
    expect(EXAMPLES.writeSecretFile).toBe(
      'umask 077 && cat > /workspace/.tc_env && chmod 600 /workspace/.tc_env',
    );
    expect(renderSecretEnvFile({ HF_TOKEN: "hf_a'b" })).toBe(`export HF_TOKEN='hf_a'\\''b'\n`);
    expect(() => renderSecretEnvFile({ 'bad-name': 'x' })).toThrow(ValidationError);
    expect(() => renderSecretEnvFile({ HF_TOKEN: 'a\nrm -rf /' })).toThrow(ValidationError);
  });
});
