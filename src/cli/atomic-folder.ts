// A folder of files (an adapter, a checkpoint) written so that a kill at any moment leaves its
// previous files or its new ones, found and finished by the next reader or writer. The folder itself
// is never renamed, so a mount point (rename: EBUSY) is written like any folder:
// 1. the files go to `<dir>/.qlora-partial-<pid>/`, each fsynced. A kill here leaves the folder as
//    it was; recovery removes the partial folder.
// 2. that folder is renamed to `<dir>/.qlora-commit-<pid>/`: the commit point (one rename). From here
//    the folder's content is each file from the commit folder while it is still there, else from <dir>.
// 3. each file is renamed from the commit folder into <dir> (an atomic replace of one file), then the
//    empty commit folder is removed. A kill here leaves files of two saves side by side; readers
//    overlay the commit folder (readFolderFile) and recovery finishes the moves. Rolling forward is
//    idempotent, so a kill during recovery is recovered the same way.
// Recovery and writes run under the folder's lock (folder-lock.ts); readers only overlay.
// Older versions saved into `<dir>.partial-<pid>/` and swapped it in by renaming <dir> to
// `<dir>.old-<pid>/`: a kill between those renames left no <dir>; recoverFolder puts one back.
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { QloraError } from '../errors';
import { alive, errno, THIS_PROCESS } from './folder-lock';
import type { Claimant } from './folder-lock';

const PARTIAL = '.qlora-partial-';
const COMMIT = '.qlora-commit-';
const PROBE = '.qlora-probe-';

/** Names this module leaves inside a folder while it writes (a killed run may leave them behind). */
export const isSaveInProgress = (name: string): boolean => name.startsWith('.qlora-');

/** Where recovery notes go (the CLI: stderr). */
export type Report = (message: string) => void;

export const reportToStderr: Report = (message) => {
  process.stderr.write(message + '\n');
};


async function entries(dir: string): Promise<string[] | null> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
}

/** fsync a folder so the renames in it are on disk before the next step; not every platform can (Windows). */
async function syncFolder(dir: string): Promise<void> {
  try {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // best effort: the renames are still atomic, only their order on a power loss is not pinned
  }
}

/** Step 3: every file of the commit folder into <dir>, then the commit folder goes. */
async function moveIn(dir: string, commit: string): Promise<void> {
  for (const name of (await entries(commit)) ?? []) await rename(join(commit, name), join(dir, name));
  await syncFolder(dir);
  await rmdir(commit).catch((e) => {
    if (errno(e) !== 'ENOENT') throw e;
  });
}

/**
 * Replaces `files` in `dir` (made if missing) as one unit; files it does not name stay. The caller
 * holds the folder's lock. Throws STORAGE, saying which adapter the folder holds.
 */
export async function writeFolderAtomically(dir: string, files: Record<string, Uint8Array | string>, who: Claimant = THIS_PROCESS, report: Report = reportToStderr): Promise<void> {
  await mkdir(dir, { recursive: true });
  await recoverFolder(dir, report, who); // a commit a killed run (or this one's failed save) left goes in first, in order
  const partial = join(dir, `${PARTIAL}${who.pid}`);
  const commit = join(dir, `${COMMIT}${who.pid}`);
  try {
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial);
    for (const [name, data] of Object.entries(files)) {
      const h = await open(join(partial, name), 'w');
      try {
        await h.writeFile(data);
        await h.sync(); // on disk before the commit rename makes it visible
      } finally {
        await h.close();
      }
    }
    await syncFolder(partial);
    await rename(partial, commit);
  } catch (e) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw new QloraError('STORAGE', `Saving ${dir} failed: ${(e as Error).message}. The folder still holds what it held before (its previous adapter, if any).`);
  }
  await syncFolder(dir);
  try {
    await moveIn(dir, commit);
  } catch (e) {
    throw new QloraError('STORAGE', `Saving ${dir} stopped half-way: ${(e as Error).message}. The new files are whole in ${commit}; \`qlora generate\` / \`eval\` / \`train --init-adapter\` read them from there, and the next run that can rename in ${dir} finishes the save.`);
  }
}

/** Whether a killed save left something in or beside `dir` that recoverFolder would finish or remove. */
export async function needsRecovery(dir: string): Promise<boolean> {
  const inside = await entries(dir).catch(() => null);
  if (inside?.some(isSaveInProgress)) return true;
  return (await legacyLeftovers(dir)).length > 0;
}

/**
 * Finishes or removes what a killed save left in `dir` (and in its subfolders: checkpoints) and
 * reports each thing it did. The caller holds the folder's lock. What a live process other than `who`
 * is writing is left alone (a reader of a checkpoint does not hold the lock of the training writing it;
 * readFolderFile reads such a save as it will end).
 */
export async function recoverFolder(dir: string, report: Report, who: Claimant = THIS_PROCESS): Promise<void> {
  await recoverLegacy(dir, report);
  const names = await entries(dir);
  if (!names) return;
  for (const name of names) {
    const path = join(dir, name);
    const pid = Number(/^\.qlora-[a-z]+-(\d+)/.exec(name)?.[1]);
    if (pid > 0 && pid !== who.pid && alive(pid)) {
      if (name.startsWith(COMMIT)) report(`${dir} is being saved by a running process (pid ${pid}); reading the files that save committed`);
      continue;
    }
    const by = pid === who.pid ? 'this process (an earlier save failed)' : `a run killed while saving (pid ${pid})`;
    if (name.startsWith(COMMIT)) {
      await moveIn(dir, path);
      report(`completed a save in ${dir} left half-done by ${by}: it holds that save's new files, whole`);
    } else if (name.startsWith(PARTIAL)) {
      await rm(path, { recursive: true, force: true });
      const has = (await entries(dir))?.some((n) => !isSaveInProgress(n));
      report(`removed ${path}, the unfinished save of ${by}; ${dir} ${has ? 'holds what was saved before it' : 'holds nothing saved yet'}`);
    } else if (name.startsWith(PROBE)) {
      await rm(path, { recursive: true, force: true });
    } else if ((await stat(path).catch(() => null))?.isDirectory()) {
      await recoverFolder(path, report, who);
    }
  }
}

/** `<dir>.old-<pid>` / `<dir>.partial-<pid>` of older versions whose writer is gone. */
async function legacyLeftovers(dir: string): Promise<{ name: string; kind: 'old' | 'partial'; pid: number }[]> {
  const base = basename(dir);
  const found = [];
  for (const name of (await entries(dirname(dir)).catch(() => null)) ?? []) {
    if (!name.startsWith(`${base}.`)) continue;
    const m = /^(old|partial)-(\d+)$/.exec(name.slice(base.length + 1));
    if (m && !alive(Number(m[2]))) found.push({ name, kind: m[1] as 'old' | 'partial', pid: Number(m[2]) });
  }
  return found;
}

async function recoverLegacy(dir: string, report: Report): Promise<void> {
  for (const { name, kind, pid } of await legacyLeftovers(dir)) {
    const path = join(dirname(dir), name);
    if (!(await stat(path).catch(() => null))) continue; // handled with its pair
    const partial = `${dir}.partial-${pid}`;
    const has = async (p: string) => !!(await stat(p).catch(() => null));
    if (!(await has(dir))) {
      // No <dir>: killed between the two renames (old and partial both here, partial whole), or
      // during a first save (only partial: whole if both files are there; a cut one is refused on load).
      const whole = kind === 'old' ? await has(partial) : (await has(join(path, 'adapter_config.json'))) && (await has(join(path, 'adapter_model.safetensors')));
      const from = kind === 'old' && whole ? partial : path;
      if (kind === 'old' || whole) {
        await rename(from, dir);
        report(`recovered the adapter from ${from} left by a run that was killed while saving (pid ${pid})${from === path && kind === 'old' ? ': the one saved before that run' : ''}`);
      }
    }
    for (const leftover of [`${dir}.old-${pid}`, partial]) {
      if (await has(leftover)) {
        await rm(leftover, { recursive: true, force: true });
        report(`removed ${leftover}, left by a run that was killed while saving (pid ${pid}); ${(await has(dir)) ? `${dir} holds the adapter` : `no adapter had been saved in ${dir}`}`);
      }
    }
  }
}

/** A file of `dir` as its last committed save has it (the commit folder of a save in progress first). */
export async function readFolderFile(dir: string, name: string): Promise<Buffer> {
  for (const c of ((await entries(dir).catch(() => null)) ?? []).filter((n) => n.startsWith(COMMIT))) {
    try {
      return await readFile(join(dir, c, name));
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e; // moved in meanwhile: read below
    }
  }
  return readFile(join(dir, name));
}

/**
 * Fails now, before any training, where files cannot be renamed inside `dir` (a file system without
 * rename, a read-only folder): the save would fail only after the last step otherwise.
 */
export async function checkRenamesInside(dir: string, what: string, who: Claimant = THIS_PROCESS): Promise<void> {
  const probe = join(dir, `${PROBE}${who.pid}`);
  try {
    await mkdir(probe);
    await open(join(probe, 'file'), 'w').then((h) => h.close());
    await rename(join(probe, 'file'), `${probe}.file`); // step 3: a file from a subfolder into dir
    await rename(probe, `${probe}.folder`); // step 2: a folder renamed inside dir
  } catch (e) {
    throw new QloraError('ARGUMENT_INVALID', `${what} does not let files be renamed inside it (${errno(e) ?? ''} ${(e as Error).message}); saves are made of renames so that a kill never leaves half an adapter. Give a folder on a local disk.`);
  } finally {
    for (const p of [probe, `${probe}.file`, `${probe}.folder`]) await rm(p, { recursive: true, force: true }).catch(() => undefined);
  }
}
