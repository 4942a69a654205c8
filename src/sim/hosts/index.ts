export type { ExecOutput, GpuRow } from './builtins.js';
export { REPO_FILES } from './catalog.js';
export { type SimFault, SimHost } from './host.js';
export { createSimHosts, type SimHosts, type SimHostsOptions } from './provider.js';
export { commandReadsStdin, recogniseTemplate } from './shell.js';
export { generateHostKey, type HostKeyPair } from './ssh-server.js';
export type { CrashSignature, SimProcess, TrainerPhase, TrainerStatus } from './trainer.js';
export type { FileSnapshot } from './vfs.js';
