// An exclusive lock on a folder that a writer holds while it trains into it and saves: `<dir>.lock/`,
// a directory holding exactly one file named by its owner's token `<pid>-<random hex>`.
//
// Why this cannot be taken twice, even over a stale lock (a lock whose pid is gone):
// - A lock is installed only by rename(<dir>.lock.new-<token>/, <dir>.lock/) of a directory that
//   already holds the token file. rename onto a directory succeeds only where the target is absent or
//   empty (POSIX; ENOTEMPTY/EEXIST otherwise), so it installs a lock only where no token is: of two
//   claimants, one rename lands and the other fails. Nobody ever creates an empty lock directory.
// - A stale lock is taken over by unlink(<dir>.lock/<its token>): that removes exactly the token that
//   was judged dead, never a newer one (tokens are never reused), and only one claimant's unlink can
//   succeed. Then every claimant goes back to the rename, which again only one wins. The old scheme
//   (read the pid, unlink the lock file, create it again) let a second claimant that had read the same
//   stale pid unlink the first one's fresh lock, and both wrote the folder.
// - release() unlinks its own token only, then removes the directory if it is empty (rmdir never
//   removes a directory that holds someone else's token).
// - An empty lock directory (a takeover killed between its unlink and its rename, or Windows, where
//   rename does not replace a directory) means no owner; it is removed with rmdir, which is safe
//   against a claimant renaming onto it at the same time (rmdir of a non-empty directory fails).
// - A lock that is a plain file is an older version's (`<pid>\n`); it is unlinked when its pid is
//   gone, and unlink cannot remove a lock directory that a faster claimant installed meanwhile.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { QloraError } from '../errors';

/** Who is claiming: the real process, or (tests) a process that is gone, to play a run that was killed. */
export interface Claimant {
  readonly pid: number;
}

export const THIS_PROCESS: Claimant = { pid: process.pid };

export interface FolderLock {
  readonly lockPath: string;
  /** Removes this owner's lock; a lock someone else holds stays. */
  release(): Promise<void>;
}

/** Whether a process exists (EPERM: it exists and belongs to someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;
const refusal = (message: string) => new QloraError('ARGUMENT_INVALID', message);

type Holder =
  | { kind: 'none' } // no lock (or an empty directory: an owner-less one)
  | { kind: 'token'; name: string; pid: number }
  | { kind: 'file'; pid: number } // an older version's lock file
  | { kind: 'unknown'; what: string };

async function readHolder(lockPath: string): Promise<Holder> {
  let names: string[];
  try {
    names = await readdir(lockPath);
  } catch (e) {
    if (errno(e) === 'ENOENT') return { kind: 'none' };
    if (errno(e) !== 'ENOTDIR') throw e;
    const text = await readFile(lockPath, 'utf8').catch(() => null);
    if (text === null) return { kind: 'none' };
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 0 ? { kind: 'file', pid } : { kind: 'unknown', what: `a file holding ${JSON.stringify(text.slice(0, 40))}` };
  }
  if (names.length === 0) {
    await rmdir(lockPath).catch(() => undefined); // owner-less; fails harmlessly if a lock lands meanwhile
    return { kind: 'none' };
  }
  const pid = Number(/^(\d+)-[0-9a-f]+$/.exec(names[0])?.[1]);
  return names.length === 1 && pid > 0 ? { kind: 'token', name: names[0], pid } : { kind: 'unknown', what: `a folder holding ${names.slice(0, 3).join(', ')}` };
}

/** Locks `dir` for `who`; refuses (ARGUMENT_INVALID) while another live process holds it. `what` names the folder in messages. */
export async function lockFolder(dir: string, what: string, who: Claimant = THIS_PROCESS): Promise<FolderLock> {
  const lockPath = `${dir}.lock`;
  const token = `${who.pid}-${randomBytes(8).toString('hex')}`;
  const fresh = `${lockPath}.new-${token}`;
  try {
    await mkdir(fresh);
    await writeFile(join(fresh, token), '');
  } catch (e) {
    await rm(fresh, { recursive: true, force: true }).catch(() => undefined);
    throw refusal(`Cannot write next to ${what}: ${(e as Error).message}. Choose a folder you can write to.`);
  }
  let installed = false;
  try {
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        await rename(fresh, lockPath);
        installed = true;
        break;
      } catch (e) {
        // EEXIST/ENOTEMPTY: a lock is there; EPERM (Windows) and ENOTDIR/EISDIR: a directory or a file in the way.
        if (!['EEXIST', 'ENOTEMPTY', 'EPERM', 'ENOTDIR', 'EISDIR'].includes(errno(e) ?? '')) {
          throw refusal(`Cannot lock ${what} (${lockPath}): ${(e as Error).message}. Choose a folder you can write to.`);
        }
      }
      const holder = await readHolder(lockPath).catch((e: Error) => {
        throw refusal(`Cannot read the lock ${lockPath} of ${what}: ${e.message}. Choose a folder you can write to.`);
      });
      if (holder.kind === 'none') continue;
      if (holder.kind === 'unknown') throw refusal(`${lockPath} is not a lock this program wrote (${holder.what}). If no training is writing ${what}, remove it.`);
      if (alive(holder.pid)) {
        throw refusal(`Another training (pid ${holder.pid}) is writing to ${what}. Wait for it to finish, or give this one another folder.`);
      }
      // Left by a process that is gone: remove exactly what was judged dead (see the header).
      if (holder.kind === 'token') await unlink(join(lockPath, holder.name)).catch(() => undefined);
      else await unlink(lockPath).catch(() => undefined);
    }
  } finally {
    if (!installed) await rm(fresh, { recursive: true, force: true }).catch(() => undefined);
  }
  if (!installed) throw refusal(`Could not lock ${what} (${lockPath} keeps changing). Give another folder.`);
  let released = false;
  return {
    lockPath,
    async release() {
      if (released) return;
      released = true;
      await unlink(join(lockPath, token)).catch(() => undefined);
      await rmdir(lockPath).catch(() => undefined); // fails (rightly) where another owner's token is
    },
  };
}

/** Removes `<dir>.lock.new-<pid>-…` folders of claimants that are gone (killed before their rename). */
export async function sweepLockLeftovers(dir: string): Promise<void> {
  const prefix = `${basename(dir)}.lock.new-`;
  for (const name of await readdir(dirname(dir)).catch(() => [] as string[])) {
    const pid = name.startsWith(prefix) ? Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]) : 0;
    if (pid > 0 && !alive(pid)) await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}
