// The adapter folder a training writes (`--out`), made safe before step 1 and written as one unit:
// - checked up front: a file, or a folder holding anything but an adapter, is refused before any
//   training time is spent (it used to fail only when saving, losing the run); so is a folder in which
//   files cannot be renamed, since every save is made of renames;
// - locked: `<out>.lock/` (folder-lock.ts) names the writer, so a second training with the same --out
//   is refused instead of silently replacing the first one's adapter; a lock left by a dead process is
//   taken over, by one claimant only;
// - recovered: what a run killed while saving left behind is finished or removed, and said on stderr;
// - written atomically inside the folder (atomic-folder.ts): a kill mid-save leaves the old adapter
//   or the new one, never r=4 weights beside an r=16 config, and --out may be a mount point.
import { mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { QloraError } from '../errors';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../engine/peft-adapter';
import { lockFolder, sweepLockLeftovers, THIS_PROCESS } from './folder-lock';
import type { Claimant } from './folder-lock';
import { checkRenamesInside, isSaveInProgress, needsRecovery, recoverFolder, reportToStderr, writeFolderAtomically } from './atomic-folder';
import type { Report } from './atomic-folder';
import { isTrainingRecord } from './checkpoint-dir';

/** For other folders written under the --out lock (checkpoints): the same atomic protocol. */
export { writeFolderAtomically } from './atomic-folder';
export type { Report } from './atomic-folder';
export type { Claimant } from './folder-lock';

/** What may already be in --out: a previous adapter (PEFT also writes a README.md), a killed save's leftovers. */
const ADAPTER_FOLDER_FILES = new Set([ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, 'README.md']);

export interface OutputDir {
  readonly path: string;
  /** Replaces the folder's adapter files with `files`, atomically (files not named stay). */
  write(files: Record<string, Uint8Array | string>): Promise<void>;
  /** Drops the lock; the folder stays (unless this claim made it and nothing was saved). */
  release(): Promise<void>;
}

export interface ClaimOptions {
  /** Who claims (tests: a process that is gone, to play a run killed mid-save). */
  who?: Claimant;
  /** Where recovery notes go (default stderr). */
  report?: Report;
}

const refuse = (message: string): never => {
  throw new QloraError('ARGUMENT_INVALID', message);
};

/** Checks, locks and recovers `out` before training; call `release()` when done (also after a failure). */
export async function claimOutputDir(out: string, { who = THIS_PROCESS, report = reportToStderr }: ClaimOptions = {}): Promise<OutputDir> {
  const path = resolve(out);
  const info = await stat(path).catch(() => null);
  if (info && !info.isDirectory()) refuse(`--out ${out} is an existing file; the adapter is a folder. Give a new folder (or a previous adapter's).`);
  if (info) {
    const others = (await readdir(path)).filter((n) => !ADAPTER_FOLDER_FILES.has(n) && !isSaveInProgress(n) && !isTrainingRecord(n));
    if (others.length) {
      refuse(`--out ${out} already holds other things (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}); its adapter files are replaced when the adapter is saved. Give a new or empty folder, or a previous adapter folder.`);
    }
  }
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    refuse(`Cannot create the parent folder of --out ${out}: ${(e as Error).message}.`);
  }
  const lock = await lockFolder(path, `--out ${out}`, who);
  let created = false;
  try {
    await sweepLockLeftovers(path);
    await recoverFolder(path, report, who);
    created = !(await stat(path).catch(() => null));
    await mkdir(path, { recursive: true });
    await checkRenamesInside(path, `--out ${out}`, who);
  } catch (e) {
    if (created) await rmdir(path).catch(() => undefined);
    await lock.release();
    throw e;
  }
  return {
    path,
    write: (files) => writeFolderAtomically(path, files, who, report),
    async release() {
      if (created) await rmdir(path).catch(() => undefined); // only if empty: nothing was saved
      created = false;
      await lock.release();
    },
  };
}

/**
 * Before reading an adapter folder (`--adapter`, `--init-adapter`): a save a killed run left half-done
 * is finished under the lock, and said; where the lock is held by a live writer or cannot be taken
 * (a read-only folder), nothing is moved and the files are read as the save will leave them.
 */
export async function settleAdapterFolder(dir: string, report: Report = reportToStderr): Promise<void> {
  const path = resolve(dir);
  if (!(await needsRecovery(path))) return;
  let lock;
  try {
    lock = await lockFolder(path, dir);
  } catch (e) {
    report(`${dir} has a save in progress and cannot be locked (${(e as Error).message}); reading the files that save committed`);
    return;
  }
  try {
    await recoverFolder(path, report);
  } finally {
    await lock.release();
  }
}
