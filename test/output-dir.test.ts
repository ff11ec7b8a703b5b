// Saving the CLI's adapter under races and crashes (issue #20, item 4), driven deterministically
// through a stand-in for node:fs/promises: a "kill" is an fs call that never returns (nothing after it
// runs, as after SIGKILL), at every mutating call of a claim + save + release in turn; a race is one
// claimant paused at the fs call where it acts on a stale lock while another claims in full; a mount
// point is a folder whose own rename fails with EBUSY (and, where this machine lets root mount in a
// private namespace, a real bind mount). The oracle is the real loader (readAdapterDir, which
// `generate`, `eval` and `--init-adapter` use): after any kill it must load one whole adapter.
import { describe, it, expect, vi, beforeAll, afterEach } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimOutputDir } from '../src/cli/output-dir';
import type { OutputDir } from '../src/cli/output-dir';
import { readAdapterDir } from '../src/cli/setup';
import { adapterFiles } from '../src/export/adapter-bundle';
import { initLoraParams, loraLayout, DEFAULT_LORA } from '../src/engine/lora';
import { parseModelConfig } from '../src/formats/model-config';
import { QloraError } from '../src/errors';
import { FIXTURES } from './helpers/golden';
// @ts-expect-error: a plain .mjs build script without types
import { bundle } from '../scripts/bundle.mjs';

const ctl = vi.hoisted(() => ({
  /** Counting mutating fs calls; the killAt-th one never returns. */
  armed: false,
  calls: 0,
  killAt: 0,
  /** The first `op` on a path under `under` waits for `meanwhile` (another claimant's whole claim). */
  pause: null as null | { op: 'read' | 'unlink'; under: string; meanwhile: () => Promise<void> },
  /** An errno for rename(src, dest) to fail with, or null. */
  renameError: null as null | ((src: string, dest: string) => string | null),
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  type AnyAsync = (...a: never[]) => Promise<unknown>;
  const paused = async (op: 'read' | 'unlink', path: unknown) => {
    const p = ctl.pause;
    if (p && p.op === op && String(path).startsWith(p.under)) {
      ctl.pause = null;
      await p.meanwhile();
    }
  };
  const killable = <F extends AnyAsync>(f: F, op?: 'unlink'): F =>
    (async (...a: Parameters<F>) => {
      if (ctl.armed && ++ctl.calls === ctl.killAt) return new Promise(() => undefined); // killed here
      if (op) await paused(op, a[0]);
      return f(...a);
    }) as F;
  const readable = <F extends AnyAsync>(f: F): F =>
    (async (...a: Parameters<F>) => {
      await paused('read', a[0]);
      return f(...a);
    }) as F;
  const rename = async (src: string, dest: string) => {
    const code = ctl.renameError?.(String(src), String(dest));
    if (code) throw Object.assign(new Error(`${code}: rename '${src}' -> '${dest}'`), { code });
    return real.rename(src, dest);
  };
  return {
    ...real,
    mkdir: killable(real.mkdir),
    rename: killable(rename),
    rm: killable(real.rm),
    rmdir: killable(real.rmdir),
    unlink: killable(real.unlink, 'unlink'),
    // No power is lost here: fsync (slow on a shared disk) is skipped; a kill is an fs call that never returns.
    open: killable(async (...a: Parameters<typeof real.open>) => Object.assign(await real.open(...a), { sync: async () => undefined })),
    writeFile: killable(real.writeFile),
    copyFile: killable(real.copyFile),
    readFile: readable(real.readFile),
    readdir: readable(real.readdir),
  };
});

const tmp = () => mkdtempSync(join(tmpdir(), 'qlora-output-dir-'));
const quiet = () => undefined;
const cfg = parseModelConfig(JSON.parse(readFileSync(`${FIXTURES}tiny-llama/config.json`, 'utf8')));

/** Two adapters that cannot be mixed unnoticed: rank 2 and rank 4 (the loader checks shapes against the config). */
function version(r: number) {
  const layout = loraLayout(cfg, { ...DEFAULT_LORA, r, alpha: 2 * r, targets: ['q_proj', 'v_proj'] });
  return { r, files: adapterFiles(layout, initLoraParams(layout, r), null) };
}
const V1 = version(2);
const V2 = version(4);
const bytes = (d: Uint8Array | string) => Buffer.from(typeof d === 'string' ? d : d);

/** A process id that is gone, so a lock or leftover naming it is stale. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('close', r));
  return child.pid as number;
}
let DEAD = 0;
let DEAD2 = 0;
beforeAll(async () => {
  [DEAD, DEAD2] = [await deadPid(), await deadPid()];
});
afterEach(() => {
  Object.assign(ctl, { armed: false, calls: 0, killAt: 0, pause: null, renameError: null });
});

async function save(out: string, files: Record<string, Uint8Array | string>, pid?: number): Promise<void> {
  const o = await claimOutputDir(out, { report: quiet, ...(pid ? { who: { pid } } : {}) });
  await o.write(files);
  await o.release();
}

/** Runs `work`, killed at its k-th mutating fs call; resolves once it is frozen there (true) or has finished (false). */
async function killedAt(k: number, work: () => Promise<void>): Promise<boolean> {
  Object.assign(ctl, { armed: true, calls: 0, killAt: k });
  let done = false;
  let error: unknown;
  work().then(() => (done = true), (e) => ((error = e), (done = true)));
  while (!done && ctl.calls < k) await new Promise((r) => setTimeout(r, 0));
  ctl.armed = false;
  if (error) throw error;
  return !done;
}

/** Mutating fs calls of one uncrashed claim + save + release. */
async function callsOfOneSave(): Promise<number> {
  const out = join(tmp(), 'adapter');
  await save(out, V1.files);
  Object.assign(ctl, { armed: true, calls: 0, killAt: -1 });
  await save(out, V2.files, DEAD);
  ctl.armed = false;
  return ctl.calls;
}

/** What a killed save may leave: dot-names inside <out>, anything beside it (this version's or the older one's). */
function leftovers(out: string): string[] {
  const inside = existsSync(out) ? readdirSync(out).filter((n) => n.startsWith('.')) : [];
  const beside = readdirSync(join(out, '..')).filter((n) => n !== 'adapter');
  return [...inside, ...beside];
}

/** The folder holds exactly one version's files, byte for byte, and nothing else of a save, and no lock. */
function expectWhole(out: string, want: typeof V1): void {
  for (const [name, data] of Object.entries(want.files)) expect(readFileSync(join(out, name)), `${name} of r=${want.r}`).toEqual(bytes(data));
  expect(leftovers(out)).toEqual([]);
}

/** Reads the adapter as `generate` / `eval` do, with what they print on stderr. */
async function readAsGenerate(out: string, reported: string[]): Promise<number> {
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((m) => (reported.push(String(m)), true));
  try {
    return (await readAdapterDir(out, { config: cfg })).settings.r;
  } finally {
    stderr.mockRestore();
  }
}

describe('the lock on --out', () => {
  it('two claimants over a stale lock file: exactly one wins (the second cannot remove the first one’s fresh lock)', async () => {
    const out = join(tmp(), 'adapter');
    writeFileSync(`${out}.lock`, `${DEAD}\n`); // an older version's lock, its process gone
    let second: OutputDir | Error | undefined;
    // The first claimant has judged the lock stale and is about to remove it when the second claims in full.
    ctl.pause = { op: 'unlink', under: `${out}.lock`, meanwhile: async () => void (second = await claimOutputDir(out, { report: quiet }).catch((e: Error) => e)) };
    const first = await claimOutputDir(out, { report: quiet }).catch((e: Error) => e);
    expect(second).toBeDefined();
    const results = [first, second as OutputDir | Error];
    expect(results.filter((r) => !(r instanceof Error))).toHaveLength(1);
    const loser = results.find((r) => r instanceof Error) as QloraError;
    expect(loser.message).toContain(`Another training (pid ${process.pid})`);
    await (results.find((r) => !(r instanceof Error)) as OutputDir).release();
    expect(existsSync(`${out}.lock`)).toBe(false);
  });

  it('two claimants over the lock of a killed run: exactly one wins', async () => {
    const out = join(tmp(), 'adapter');
    await claimOutputDir(out, { who: { pid: DEAD }, report: quiet }); // killed: never released
    let second: OutputDir | Error | undefined;
    ctl.pause = { op: 'unlink', under: `${out}.lock`, meanwhile: async () => void (second = await claimOutputDir(out, { report: quiet }).catch((e: Error) => e)) };
    const first = await claimOutputDir(out, { report: quiet }).catch((e: Error) => e);
    expect(second, 'the first claimant reached the removal of the stale lock').toBeDefined();
    const results = [first, second as OutputDir | Error];
    expect(results.filter((r) => !(r instanceof Error))).toHaveLength(1);
    expect((results.find((r) => r instanceof Error) as Error).message).toContain('Another training');
  });

  it('a release by a claimant whose lock was taken over does not remove the new owner’s lock', async () => {
    const out = join(tmp(), 'adapter');
    const first = await claimOutputDir(out, { report: quiet });
    // The first owner's lock looked stale (here: replaced by one naming a dead process) and was taken over.
    rmSync(`${out}.lock`, { recursive: true, force: true });
    writeFileSync(`${out}.lock`, `${DEAD}\n`);
    const second = await claimOutputDir(out, { report: quiet });
    await first.release();
    await expect(claimOutputDir(out, { report: quiet })).rejects.toThrow(`Another training (pid ${process.pid})`);
    await second.release();
    await (await claimOutputDir(out, { report: quiet })).release();
  });
});

describe('a run killed while saving', () => {
  let K = 0;
  beforeAll(async () => {
    K = await callsOfOneSave();
  });

  it('counts the save’s fs changes (the kill points below)', () => {
    expect(K).toBeGreaterThan(10);
  });

  /** Saves V1, kills a save of V2 at its k-th fs change, then recovers by a reader or a claim: the adapter that loads. */
  async function afterKill(k: number, recoverBy: 'reader' | 'claim'): Promise<number> {
    const out = join(tmp(), 'adapter');
    await save(out, V1.files);
    await killedAt(k, () => save(out, V2.files, DEAD));
    // A stale lock (or a rename probe) is cleared without a word; anything else a killed save left is reported.
    const mustReport = leftovers(out).some((n) => !n.startsWith('adapter.lock') && !n.startsWith('.qlora-probe-'));
    const reported: string[] = [];
    let r: number;
    if (recoverBy === 'reader') {
      r = await readAsGenerate(out, reported);
      expect(existsSync(out) ? readdirSync(out).filter((n) => n.startsWith('.')) : [], `reader after a kill at ${k}`).toEqual([]);
    }
    await (await claimOutputDir(out, { report: (m) => reported.push(m) })).release();
    if (recoverBy === 'claim') r = (await readAdapterDir(out, { config: cfg })).settings.r;
    expectWhole(out, r! === V1.r ? V1 : V2);
    if (mustReport) expect(reported.join('\n'), `kill at call ${k} of ${K}`).toMatch(/killed while saving \(pid \d+\)/);
    else expect(reported, `kill at call ${k} of ${K}`).toEqual([]);
    return r!;
  }

  it.each(['reader', 'claim'] as const)('at every fs change, the %s after it finds one whole adapter, the new one from the commit on, and says what it recovered', async (by) => {
    const rs: number[] = [];
    for (let k = 1; k <= K; k++) rs.push(await afterKill(k, by));
    // Killed early: the previous adapter; from some point on (the commit): the new one, never back.
    const firstNew = rs.indexOf(V2.r);
    expect(firstNew, rs.join(',')).toBeGreaterThan(0);
    expect(rs.slice(firstNew).every((r) => r === V2.r), rs.join(',')).toBe(true);
  });

  it('killed again while recovering, at every fs change of the recovery: the run after that still finds one whole adapter', async () => {
    let partials = 0;
    let exercised = 0;
    for (let k = 1; k <= K; k++) {
      const killed = tmp();
      await save(join(killed, 'adapter'), V1.files);
      await killedAt(k, () => save(join(killed, 'adapter'), V2.files, DEAD));
      const stage = leftovers(join(killed, 'adapter')).join(' ');
      // Every kill that leaves a commit to finish; of those that leave only a partial save to remove, one.
      // (`<out>.old-`/`<out>.partial-`: the same two stages where older versions left them.)
      if (!/\.qlora-commit-|\.old-/.test(stage) && !(/\.qlora-partial-|\.partial-/.test(stage) && partials++ === 0)) continue;
      exercised++;
      for (let j = 1; ; j++) {
        const dir = tmp();
        cpSync(killed, dir, { recursive: true });
        const out = join(dir, 'adapter');
        const frozen = await killedAt(j, async () => (await claimOutputDir(out, { who: { pid: DEAD2 }, report: quiet })).release());
        const recovered = !/\.qlora-(partial|commit)-/.test(leftovers(out).join(' ')); // later kills: as in the claims above
        const r = await readAsGenerate(out, []);
        await (await claimOutputDir(out, { report: quiet })).release();
        expect([V1.r, V2.r], `save killed at ${k} (${stage}), its recovery at ${j}`).toContain(r);
        expectWhole(out, r === V1.r ? V1 : V2);
        if (!frozen || recovered) break;
      }
    }
    expect(exercised).toBeGreaterThan(1);
  });

  it('a reader while a live writer is half-way through moving its commit in reads the new adapter whole and moves nothing', async () => {
    const writer = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      for (let k = 1; k <= K; k++) {
        const out = join(tmp(), 'adapter');
        await save(out, V1.files);
        await killedAt(k, () => save(out, V2.files, writer.pid)); // frozen, its process alive
        const commit = readdirSync(out).find((n) => n.startsWith('.qlora-commit-'));
        if (!commit || readdirSync(join(out, commit)).length !== 2) continue; // one file of three moved in
        const reported: string[] = [];
        expect(await readAsGenerate(out, reported)).toBe(V2.r);
        expect(reported.join('')).toContain(`Another training (pid ${writer.pid})`);
        expect(readdirSync(join(out, commit))).toHaveLength(2); // untouched
        return;
      }
      throw new Error('no kill point left a commit half moved in');
    } finally {
      writer.kill();
    }
  });

  it('a first save killed before its commit leaves no adapter and no litter; after it, the new adapter', async () => {
    const seen = new Set<string>();
    for (let k = 1; k <= K; k++) {
      const out = join(tmp(), 'adapter');
      await killedAt(k, () => save(out, V2.files, DEAD));
      const o = await claimOutputDir(out, { report: quiet });
      await o.release();
      if (existsSync(join(out, 'adapter_config.json'))) {
        expectWhole(out, V2);
        seen.add('new');
      } else {
        expect(leftovers(out)).toEqual([]);
        seen.add('none');
      }
    }
    expect([...seen].sort()).toEqual(['new', 'none']);
  });

  it('an older version’s leftovers (<out>.old-<pid>, <out>.partial-<pid>, no <out>) are recovered and reported', async () => {
    const dir = tmp();
    const out = join(dir, 'adapter');
    // Killed between its two renames: <out> moved aside, the whole new one not yet in place.
    for (const [name, files] of [[`adapter.old-${DEAD}`, V1.files], [`adapter.partial-${DEAD}`, V2.files]] as const) {
      mkdirSync(join(dir, name));
      for (const [f, d] of Object.entries(files)) writeFileSync(join(dir, name, f), bytes(d));
    }
    const reported: string[] = [];
    expect(await readAsGenerate(out, reported)).toBe(V2.r);
    expect(reported.join('')).toContain(`recovered the adapter from ${out}.partial-${DEAD} left by a run that was killed while saving (pid ${DEAD})`);
    expectWhole(out, V2);
  });
});

describe('an --out that cannot itself be renamed', () => {
  it('a mount point (rename of the folder: EBUSY) is saved into, twice, and reads back whole', async () => {
    const out = join(tmp(), 'adapter');
    mkdirSync(out);
    ctl.renameError = (src, dest) => (src === out || dest === out ? 'EBUSY' : null);
    const o = await claimOutputDir(out, { report: quiet });
    await o.write(V1.files);
    await o.write(V2.files);
    await o.release();
    expectWhole(out, V2);
    expect((await readAdapterDir(out, { config: cfg })).settings.r).toBe(V2.r);
  });

  it('a folder in which nothing can be renamed (EXDEV) is refused at the claim, before training', async () => {
    const out = join(tmp(), 'adapter');
    ctl.renameError = (src) => (src.startsWith(`${out}/`) ? 'EXDEV' : null);
    const e = await claimOutputDir(out, { report: quiet }).catch((x: QloraError) => x);
    expect(e).toBeInstanceOf(QloraError);
    expect((e as QloraError).code).toBe('ARGUMENT_INVALID');
    expect((e as QloraError).message).toMatch(/--out .* does not let files be renamed inside it \(EXDEV/);
    expect(readdirSync(join(out, '..'))).toEqual([]); // no lock, no folder left
  });

  // A real mount point: root in a private mount namespace (unshare -m); skipped, saying why, elsewhere.
  const canMount = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'd=$(mktemp -d) && mount --bind "$d" "$d" && umount "$d" && rmdir "$d"'], { encoding: 'utf8' });
  it.skipIf(canMount.status !== 0)(`a real bind mount as --out${canMount.status !== 0 ? ` (skipped: unshare/mount unavailable: ${(canMount.stderr || canMount.error?.message || '').trim()})` : ''}`, async () => {
    const dir = tmp();
    const out = join(dir, 'adapter');
    mkdirSync(out);
    const lib = await bundle(new URL('../src/cli/output-dir.ts', import.meta.url).pathname, join(dir, 'output-dir.mjs'));
    const script = `const { claimOutputDir } = await import(process.argv[1]); const out = process.argv[2];
      for (const v of ['1', '2']) { const o = await claimOutputDir(out); await o.write({ 'adapter_config.json': v, 'adapter_model.safetensors': v }); await o.release(); }`;
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$2" "$2" && mountpoint -q "$2" && exec "$0" --input-type=module -e "$3" "$1" "$2"', process.execPath, lib, out, script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Written inside the mount, which (a bind of the same folder) shows here too.
    expect(readFileSync(join(out, 'adapter_config.json'), 'utf8')).toBe('2');
    expect(readdirSync(dir).sort()).toEqual(['adapter', 'output-dir.mjs']);
  });
});
