import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRAINER_COMMAND_LINE } from '../../../src/fleet/policy/stop.js';
import { parseStopOutput, REMOTE_COMMANDS, STOP_POLLS } from '../../../src/fleet/remote/commands.js';

/**
 * The stop line's shell logic under real bash, every branch, with scripted stand-ins for pgrep,
 * pkill, killall and sleep on PATH (nothing on this machine is signalled, and no time passes).
 * The parity test runs the same line against real processes over OpenSSH.
 */

const execFileAsync = promisify(execFile);
const LINE = REMOTE_COMMANDS.stop('killall -9 torchrun');

/**
 * Each stand-in logs its argv (one call per line, arguments separated by `|`) to calls.log.
 * pgrep exits with the next code of the PGREP_CODES list (the last one repeats) and prints two
 * pids for `-d`; killall complains as psmisc does when told nothing is running.
 */
const STAND_INS: Record<string, string> = {
  pgrep: `#!/bin/bash
(IFS='|'; echo "pgrep|$*") >> "$TC_DIR/calls.log"
n=0; if [ -f "$TC_DIR/pgrep.n" ]; then n=$(< "$TC_DIR/pgrep.n"); fi; echo $((n + 1)) > "$TC_DIR/pgrep.n"
set -- "$@" -- $PGREP_CODES; while [ "$1" != -- ]; do args+=("$1"); shift; done; shift
shift $(( n < $# ? n : $# - 1 )); code=$1
if [ "$code" = 2 ]; then echo 'pgrep: regular expression error' >&2; fi
if [ "$code" = 0 ] && [ "\${args[0]}" = -d ]; then echo '4242 4243'; fi
exit $code
`,
  pkill: `#!/bin/bash
(IFS='|'; echo "pkill|$*") >> "$TC_DIR/calls.log"
exit 0
`,
  killall: `#!/bin/bash
(IFS='|'; echo "killall|$*") >> "$TC_DIR/calls.log"
echo "\${@: -1}: no process found" >&2
exit 1
`,
  sleep: `#!/bin/bash
(IFS='|'; echo "sleep|$*") >> "$TC_DIR/calls.log"
`,
};

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tc-stop-line-'));
  await mkdir(join(dir, 'empty'));
  for (const [name, body] of Object.entries(STAND_INS)) {
    await writeFile(join(dir, name), body, { mode: 0o755 });
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  calls: string[];
}

/** Runs the line as sshd would (`bash -c`), with PATH holding only the stand-ins. */
async function runLine(pgrepCodes: number[], path = dir): Promise<Outcome> {
  await rm(join(dir, 'calls.log'), { force: true });
  await rm(join(dir, 'pgrep.n'), { force: true });
  // HOME too: bash on a socket for stdin (libuv's pipes) thinks sshd ran it and reads ~/.bashrc.
  const env = { PATH: path, HOME: dir, TC_DIR: dir, PGREP_CODES: pgrepCodes.join(' ') };
  let result: { code: number; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await execFileAsync('/bin/bash', ['-c', LINE], { env });
    result = { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    result = { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
  const log = await readFile(join(dir, 'calls.log'), 'utf8').catch(() => '');
  return { ...result, calls: log.split('\n').filter((l) => l !== '') };
}

const CHECK = `pgrep|-f|${TRAINER_COMMAND_LINE}`;

describe('the stop line under bash', () => {
  it('kills with the policy command, then the trainer pattern, and reports "stopped" once none is left', async () => {
    const out = await runLine([0, 1]);
    expect(out).toMatchObject({ code: 0, stdout: 'stopped\n', stderr: '' });
    expect(out.calls).toEqual([CHECK, 'killall|-9|torchrun', `pkill|-9|-f|${TRAINER_COMMAND_LINE}`, CHECK]);
    expect(parseStopOutput(out.stdout)).toBe('stopped');
  });

  it('reports "not running" when there was nothing to stop, without killall\'s complaint', async () => {
    const out = await runLine([1]);
    expect(out).toMatchObject({ code: 0, stdout: 'not running\n', stderr: '' });
    expect(parseStopOutput(out.stdout)).toBe('not_running');
  });

  it('waits for a trainer that takes a moment to die', async () => {
    const out = await runLine([0, 0, 0, 1]);
    expect(out).toMatchObject({ code: 0, stdout: 'stopped\n' });
    expect(out.calls.filter((c) => c === 'sleep|0.3')).toHaveLength(2);
  });

  it('exits 1 naming the pids when a trainer survives every poll', async () => {
    const out = await runLine([0]);
    expect(out).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'trainer still running after kill -9: 4242 4243\n',
    });
    expect(out.calls.filter((c) => c === CHECK)).toHaveLength(1 + STOP_POLLS);
    expect(out.calls.at(-1)).toBe(`pgrep|-d| |-f|${TRAINER_COMMAND_LINE}`);
  });

  it("kills nothing and fails with pgrep's status when it cannot look", async () => {
    const broken = await runLine([2]);
    expect(broken).toMatchObject({ code: 2, stdout: '', stderr: 'pgrep: regular expression error\n' });
    expect(broken.calls).toEqual([CHECK]);

    const missing = await runLine([0], join(dir, 'empty'));
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/pgrep: command not found/);
    expect(missing.calls).toEqual([]);
  });
});
