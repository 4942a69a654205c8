/** The healer agent: routine repairs on a run's current host (restart, clean disk, logs, stop). */
export type { CleanDiskResult } from './clean-disk.js';
export { findRun, type HealerDeps, type ProgressReporter, runGpu, runTarget } from './deps.js';
export { escalate, journalRefusal } from './escalate.js';
export {
  type HostCommands,
  RemoteCommandError,
  type SshHostCommandsOptions,
  sshHostCommands,
} from './host-commands.js';
export { type HealerProcessorDeps, type HealerResult, healerProcessor } from './processor.js';
export type { RestartResult } from './restart.js';
export {
  checkHostConfig,
  cleanDiskPerPolicy,
  stopTrainer,
  type VerifyOutcome,
  verifyLaunch,
} from './trainer-launch.js';
export {
  baselineStep,
  isAdvancing,
  sampleTrainer,
  type TrainerSample,
  verifyVerdict,
} from './trainer-progress.js';
