/**
 * The seam between the simulated Vast.ai API (src/sim/vast) and the simulated training hosts
 * (src/sim/hosts): the cloud decides when an instance exists and runs; the host provider gives
 * it a real SSH endpoint and a trainer.
 */
export interface SimHostSpec {
  instanceId: number;
  gpuName: string;
  numGpus: number;
  /** Disk size in GB. */
  diskGb: number;
  /** Environment requested at rent (never logged). */
  env: Record<string, string>;
  label: string;
}

export interface SimHostEndpoint {
  sshHost: string;
  sshPort: number;
  /** OpenSSH public key line of the host (`ssh-ed25519 AAAA...`). */
  hostKey: string;
}

export type SimHostPower = 'running' | 'stopped';

export interface SimHostProvider {
  /** Creates the host (SSH server listening, trainer idle, empty workspace). */
  create(spec: SimHostSpec): Promise<SimHostEndpoint>;
  /** running: SSH accepts and the trainer may run; stopped: SSH refuses, files stay. */
  setPower(instanceId: number, power: SimHostPower): Promise<void>;
  /** Destroys the host and its data. Missing ids are ignored. */
  destroy(instanceId: number): Promise<void>;
}
