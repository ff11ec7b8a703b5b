// Checkpoint folders on disk for `qlora train`: `--out/checkpoint-<step>/` written so that a kill at any
// moment leaves either the whole folder or none of it, found again by `--resume`, and read back.
// The folder's content is export/checkpoint-folder.ts's; this file only does the file access.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { QloraError } from '../errors';
import { CHECKPOINT_PREFIX, TRAINER_STATE_FILE } from '../export/checkpoint-folder';

/**
 * Writes `files` as the folder `dir`, all or nothing: into `<dir>.tmp-<pid>`, each file synced, then
 * one rename (a folder already at `dir` is replaced); a failure removes the temporary folder. For
 * folders that are new as a whole (a checkpoint, a merged model), unlike atomic-folder.ts's
 * writeFolderAtomically, which replaces an adapter's files inside a folder that stays (--out may be
 * a mount point); a `<dir>.tmp-<pid>` a kill left is never taken for a checkpoint.
 */
export async function writeWholeFolder(dir: string, files: Record<string, Uint8Array | string> | Iterable<{ name: string; bytes: Uint8Array }>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  // An iterable is drained one file at a time (a merged model's shards), so only one is held at once.
  const entries = Symbol.iterator in files ? (function* () {
    for (const f of files as Iterable<{ name: string; bytes: Uint8Array }>) yield [f.name, f.bytes] as const;
  })() : Object.entries(files);
  for (const [name, data] of entries) {
    const h = await open(join(tmp, name), 'w');
    try {
      await h.writeFile(data);
      await h.sync(); // on disk before the rename makes the folder visible
    } finally {
      await h.close();
    }
  }
  if (await stat(dir).catch(() => null)) await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/** The step of a complete checkpoint folder name, else null (a `.tmp-<pid>` left by a kill is not one). */
export function checkpointStep(name: string): number | null {
  const m = new RegExp(`^${CHECKPOINT_PREFIX}(\\d+)$`).exec(name);
  return m ? Number(m[1]) : null;
}

/** The complete checkpoints in `out`, by step. */
export async function listCheckpoints(out: string): Promise<{ step: number; dir: string }[]> {
  const names = await readdir(out).catch(() => [] as string[]);
  return names
    .map((n) => ({ step: checkpointStep(n), dir: join(out, n) }))
    .filter((c): c is { step: number; dir: string } => c.step !== null && existsSync(join(c.dir, TRAINER_STATE_FILE)))
    .sort((a, b) => a.step - b.step);
}

/** `--resume` ('' = the newest checkpoint in `out`; else a folder, or a checkpoint-<step> name inside `out`). */
export async function findCheckpoint(out: string, resume: string): Promise<string> {
  if (resume === '') {
    const all = await listCheckpoints(out);
    if (!all.length) throw new QloraError('ARGUMENT_INVALID', `--resume: --out ${out} holds no ${CHECKPOINT_PREFIX}<step> folder to continue from. Train with --checkpoint-every N to write them, or leave out --resume.`);
    return all[all.length - 1].dir;
  }
  for (const dir of [resolve(resume), join(out, resume)]) {
    if (existsSync(join(dir, TRAINER_STATE_FILE))) return dir;
  }
  const known = (await listCheckpoints(out)).map((c) => c.dir);
  throw new QloraError('ARGUMENT_INVALID', `--resume ${resume}: no checkpoint there (a folder with ${TRAINER_STATE_FILE}). ${known.length ? `--out holds ${known.join(', ')}.` : `--out ${out} holds none.`}`);
}

/** A reader of the checkpoint's files that says which one is missing. */
export function checkpointReader(dir: string): (name: string) => Uint8Array {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new QloraError('ARGUMENT_INVALID', `--resume: ${dir} is not a folder.`);
  return (name) => {
    try {
      return new Uint8Array(readFileSync(join(dir, name)));
    } catch {
      throw new QloraError('CONFIG_INVALID', `${dir} has no ${name}: the checkpoint is incomplete. Resume from another one (--resume ${CHECKPOINT_PREFIX}<step>).`);
    }
  };
}

/** What a training leaves in --out besides the adapter (checkpoints, trainer_state.json): not "other things". */
export function isTrainingRecord(name: string): boolean {
  return name === TRAINER_STATE_FILE || name.startsWith(CHECKPOINT_PREFIX);
}
