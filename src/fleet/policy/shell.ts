/**
 * Shell quoting for every value interpolated into a remote command line. Values are validated
 * where they enter (the fleet schema) and quoted here anyway: defence in depth.
 */

const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX single-quote quoting: the result is always one literal word for sh/bash. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new TypeError('a shell argument cannot contain a NUL byte');
  if (value !== '' && PLAIN.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
