// The adapter folder a training writes (`--out`), made safe before step 1 and written as one unit:
// - checked up front: a file, or a folder holding anything but an adapter, is refused before any
//   training time is spent (it used to fail only when saving, losing the run);
// - locked: `<out>.lock` holds the writer's pid, so a second training with the same --out is refused
//   instead of silently replacing the first one's adapter (a lock left by a dead process is taken over);
// - written atomically: config and weights go to `<out>.partial-<pid>/`, then that folder replaces
//   `<out>` by renames, so a kill mid-save leaves the old adapter or the new one, never r=4 weights
//   beside an r=16 config.
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { QloraError } from '../errors';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../engine/peft-adapter';
import { isTrainingRecord } from './checkpoint-dir';

/** What may already be in --out: a previous adapter (PEFT also writes a README.md). */
const ADAPTER_FOLDER_FILES = new Set([ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, 'README.md']);

export interface OutputDir {
  readonly path: string;
  /** Replaces the folder's adapter with `files`, atomically. */
  write(files: Record<string, Uint8Array | string>): Promise<void>;
  /** Drops the lock; the folder stays. */
  release(): Promise<void>;
}

const refuse = (message: string): never => {
  throw new QloraError('ARGUMENT_INVALID', message);
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

async function takeLock(lockPath: string, out: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(lockPath, 'wx');
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') refuse(`Cannot write next to --out ${out}: ${(e as Error).message}. Choose a folder you can write to.`);
    }
    const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      refuse(`Another training (pid ${pid}) is writing to --out ${out}. Wait for it to finish, or give this one another --out.`);
    }
    await unlink(lockPath).catch(() => undefined); // left by a process that is gone
  }
  refuse(`Could not lock --out ${out} (${lockPath} keeps reappearing). Give another --out.`);
}

/** Checks and locks `out` before training; call `release()` when done (also after a failure). */
export async function claimOutputDir(out: string): Promise<OutputDir> {
  const path = resolve(out);
  const info = await stat(path).catch(() => null);
  if (info && !info.isDirectory()) refuse(`--out ${out} is an existing file; the adapter is a folder. Give a new folder (or a previous adapter's).`);
  if (info) {
    const others = (await readdir(path)).filter((n) => !ADAPTER_FOLDER_FILES.has(n) && !isTrainingRecord(n));
    if (others.length) {
      refuse(`--out ${out} already holds other things (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}); it is replaced as a whole when the adapter is saved. Give a new or empty folder, or a previous adapter folder.`);
    }
  }
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    refuse(`Cannot create the parent folder of --out ${out}: ${(e as Error).message}.`);
  }
  const lockPath = `${path}.lock`;
  await takeLock(lockPath, out);
  let released = false;
  return {
    path,
    async write(files) {
      const partial = `${path}.partial-${process.pid}`;
      const old = `${path}.old-${process.pid}`;
      await rm(partial, { recursive: true, force: true });
      await mkdir(partial);
      try {
        for (const [name, data] of Object.entries(files)) {
          const h = await open(join(partial, name), 'w');
          try {
            await h.writeFile(data);
            await h.sync(); // on disk before the rename makes it visible
          } finally {
            await h.close();
          }
        }
      } catch (e) {
        await rm(partial, { recursive: true, force: true });
        throw new QloraError('STORAGE', `Saving the adapter to ${path} failed: ${(e as Error).message}. The folder still holds the previous adapter, if any.`);
      }
      const existing = await stat(path).catch(() => null);
      if (existing) {
        // Files this save does not write (a README) move along; then the old folder steps aside.
        for (const name of await readdir(path)) {
          if (!(name in files)) await rename(join(path, name), join(partial, name));
        }
        await rm(old, { recursive: true, force: true });
        await rename(path, old);
      }
      await rename(partial, path);
      await rm(old, { recursive: true, force: true });
    },
    async release() {
      if (released) return;
      released = true;
      await unlink(lockPath).catch(() => undefined);
    },
  };
}
