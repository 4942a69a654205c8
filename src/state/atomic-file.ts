import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Files other tools read while we write them. A reader must only ever see the old or the new
 * content, never a half-written file, and a power cut must not leave an empty one behind.
 */

/** Replaces `file` atomically: temp file in the same directory, fsync, rename, fsync the directory. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmp, 'wx', 0o644);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, file);
  } catch (err) {
    await handle?.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDirectory(dir);
}

/** Appends and waits until the bytes are on disk, so a recorded file length is never ahead of it. */
export async function appendDurably(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'a', 0o644);
  try {
    // O_APPEND: every write lands at the end, whatever the handle's position.
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename durable. Some platforms cannot open directories for sync: that is not an error. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort: the rename itself is already atomic.
  } finally {
    await handle?.close().catch(() => {});
  }
}
