// Node-only FileReader over a local folder (the CLI and tests), and writing output folders.
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { QloraError } from '../errors';
import type { FileReader } from './model-files';
import { urlReader } from './model-files';

export function dirReader(dir: string): FileReader {
  const root = resolve(dir);
  return {
    location: root + '/',
    async read(name) {
      try {
        return new Uint8Array(await readFile(join(root, name)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new QloraError('CONFIG_INVALID', `Could not read ${join(root, name)}: ${(e as Error).message}. Check that it is a readable file.`);
      }
    },
  };
}

/** A local folder or an http(s) URL. */
export function readerFor(location: string): FileReader {
  return /^https?:\/\//.test(location) ? urlReader(location) : dirReader(location);
}

export async function writeFiles(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
}
