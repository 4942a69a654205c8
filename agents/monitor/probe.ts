import { REMOTE_COMMANDS } from '../../src/fleet/remote/commands.js';
import { parseProbeOutput } from '../../src/fleet/remote/parse.js';
import type { ProbeSpec } from './sweep.js';

/** The real probe: the one read-only template of src/fleet/remote and its parser. */
export const remoteProbe: ProbeSpec = {
  command: (run, fleet) => REMOTE_COMMANDS.probe(fleet.paths, run.run_dir),
  parse: parseProbeOutput,
};
