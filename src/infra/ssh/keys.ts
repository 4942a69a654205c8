import ssh2 from 'ssh2';

export interface SshKeyPair {
  /** OpenSSH private key (PEM). */
  private: string;
  /** OpenSSH public key line. */
  public: string;
}

/**
 * An ed25519 key pair that ssh2 can read back. ssh2's generator produces an unparseable key about
 * once in 256 tries (mscdex/ssh2#1390), which would fail a start-up at random: regenerate instead.
 */
export function generateSshKeyPair(): SshKeyPair {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    const priv = ssh2.utils.parseKey(pair.private);
    const pub = ssh2.utils.parseKey(pair.public);
    if (!(priv instanceof Error) && !(pub instanceof Error))
      return { private: pair.private, public: pair.public };
  }
  throw new Error('could not generate a usable ed25519 key pair');
}
