// The GPU memory probe (gpu/memory-probe.ts) and the one-click fixes (engine/memory-fixes.ts): what the
// memo concludes from earlier probes, the chunks a probe allocates, the gpu-memory setting's sizes, a
// probe on a fake device that runs out at a chosen size and on the real one, the page's verdict
// (app-core/memory-check.ts) for the case — a run bigger than the GPU that used to say "✓ Fits" —
// and that every fix offered really shrinks the estimate.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { DeviceMemory, emptyMemo, memoAnswer, parseMemorySize, probeAllocation, probeChunks, recordProbe } from '../src/gpu/memory-probe';
import { memoryFixes } from '../src/engine/memory-fixes';
import { checkFits, estimateTrainingMemory } from '../src/engine/memory-estimate';
import type { MemoryEstimate } from '../src/engine/memory-estimate';
import { DEFAULT_SETTINGS } from '../src/engine/run-settings';
import { settingsFromQuery } from '../src/ui/settings-query';
import type { RunSettings } from '../src/engine/run-settings';
import { parseModelConfig } from '../src/formats/model-config';
import { judgeMemory } from '../src/app-core/memory-check';
import { gpu } from './helpers/gpu';
import { FIXTURES } from './helpers/golden';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const CONFIG = parseModelConfig(JSON.parse(readFileSync(`${FIXTURES}tiny-llama/config.json`, 'utf8')), 'tiny-llama');
const BIG_LIMITS = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 };

/** As the worker sizes a run without a dataset: examples maxLength tokens long. */
function estimate(s: RunSettings): MemoryEstimate {
  return estimateTrainingMemory(CONFIG, {
    quant: s.quant, embedDtypeBytes: 2, batchSize: s.batchSize, seqLen: s.maxLength, gradientCheckpointing: s.gradientCheckpointing,
    lora: { r: s.loraR, alpha: s.loraAlpha, dropout: s.loraDropout, targets: s.target, rslora: s.rslora },
  });
}

describe('the probe memo', () => {
  it('answers from what allocated and what failed, and probes in between', () => {
    let m = emptyMemo();
    expect(memoAnswer(m, 1)).toBe('unknown');
    m = recordProbe(m, 8 * GiB, true);
    m = recordProbe(m, 20 * GiB, false);
    expect(memoAnswer(m, 8 * GiB)).toBe('fits');
    expect(memoAnswer(m, 3 * GiB)).toBe('fits');
    expect(memoAnswer(m, 20 * GiB)).toBe('fails');
    expect(memoAnswer(m, 27 * GiB)).toBe('fails');
    expect(memoAnswer(m, 12 * GiB)).toBe('unknown');
  });

  it('a later answer wins over an earlier one it contradicts (memory was freed or taken meanwhile)', () => {
    let m = recordProbe(emptyMemo(), 10 * GiB, false);
    m = recordProbe(m, 12 * GiB, true); // another program freed memory
    expect(memoAnswer(m, 12 * GiB)).toBe('fits');
    expect(memoAnswer(m, 12 * GiB + 1)).toBe('unknown');
    m = recordProbe(m, 6 * GiB, false); // and now it took more
    expect(memoAnswer(m, 6 * GiB)).toBe('fails');
    expect(memoAnswer(m, 6 * GiB - 1)).toBe('unknown');
  });
});

describe('probeChunks', () => {
  it('sums to the bytes (rounded up to 4), no chunk over maxBufferSize', () => {
    expect(probeChunks(10, 1024)).toEqual([12]);
    expect(probeChunks(0, 1024)).toEqual([]);
    expect(probeChunks(2500, 1000)).toEqual([1000, 1000, 500]);
    expect(probeChunks(2500, 1002)).toEqual([1000, 1000, 500]); // chunks stay multiples of 4
    const chunks = probeChunks(26.8e9, 4 * GiB);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(26.8e9);
    expect(Math.max(...chunks)).toBe(4 * GiB);
  });

  it('rejects a limit smaller than one buffer', () => {
    expect(() => probeChunks(10, 3)).toThrow(/maxBufferSize/);
  });
});

describe('the gpu-memory setting', () => {
  it('reads sizes with units, decimal and binary', () => {
    expect(parseMemorySize('8GB')).toBe(8e9);
    expect(parseMemorySize('12 GiB')).toBe(12 * GiB);
    expect(parseMemorySize('512mib')).toBe(512 * MiB);
    expect(parseMemorySize('1.5GiB')).toBe(1.5 * GiB);
    expect(parseMemorySize('4096')).toBe(4096);
  });

  it('says what it wants for anything else', () => {
    for (const bad of ['', 'lots', '8 GX', '-1GB', '0']) expect(() => parseMemorySize(bad), bad).toThrow(/gpu-memory must be/);
  });

  it('is a page setting of the link, not a run setting', () => {
    expect(settingsFromQuery('gpu-memory=23GB&batchSize=2')).toEqual({ settings: { ...DEFAULT_SETTINGS, batchSize: 2 }, autostart: false, gpuMemory: 23e9 });
    expect(settingsFromQuery('batchSize=2').gpuMemory).toBeUndefined();
    expect(() => settingsFromQuery('gpu-memory=big')).toThrow(/gpu-memory must be/);
  });
});

/** A device that runs out once more than `capacity` bytes are allocated, reporting it the WebGPU way. */
function fakeDevice(capacity: number, maxBufferSize: number) {
  const live = new Set<{ size: number }>();
  let scope: GPUError | null | undefined;
  const used = () => [...live].reduce((a, b) => a + b.size, 0);
  const device = {
    limits: { maxBufferSize },
    pushErrorScope: () => void (scope = null),
    popErrorScope: async () => scope ?? null,
    createBuffer({ size }: { size: number }) {
      const b = { size, destroy: () => void live.delete(b) };
      if (used() + size > capacity) scope ??= { message: 'out of memory' } as GPUError;
      else live.add(b);
      return b;
    },
  };
  return { device: device as unknown as GPUDevice, used };
}

describe('probeAllocation', () => {
  it('on a fake device: allocates in chunks, says whether it all fit, and frees everything', async () => {
    const { device, used } = fakeDevice(100 * MiB, 16 * MiB);
    expect(await probeAllocation(device, 90 * MiB)).toBe(true);
    expect(used()).toBe(0);
    expect(await probeAllocation(device, 101 * MiB)).toBe(false);
    expect(used()).toBe(0);
  });

  it('on the real device: a small probe allocates and returns no error', async () => {
    const ctx = await gpu();
    expect(await probeAllocation(ctx.device, 8 * MiB)).toBe(true);
  });
});

describe('DeviceMemory', () => {
  it('probes once per size it cannot answer, counting what is already held', async () => {
    const asked: number[] = [];
    const memory = new DeviceMemory(async (bytes) => (asked.push(bytes), bytes <= 10 * GiB));
    expect(await memory.check(8 * GiB, 1 * GiB, true)).toEqual({ fits: true, basis: 'probe', available: 8 * GiB });
    expect(asked).toEqual([7 * GiB]); // the loaded model's gigabyte is already allocated
    expect(await memory.check(6 * GiB, 0, true)).toMatchObject({ fits: true, basis: 'probe' });
    expect(await memory.check(26.8e9, 0, true)).toEqual({ fits: false, basis: 'probe', available: 8 * GiB });
    expect(await memory.check(30e9, 0, true)).toMatchObject({ fits: false });
    expect(asked).toEqual([7 * GiB, 26.8e9]);
  });

  it('does not probe while a run uses the GPU, and says the total was not measured', async () => {
    const memory = new DeviceMemory(async () => {
      throw new Error('must not probe');
    });
    expect(await memory.check(GiB, 0, false)).toEqual({ fits: null, basis: 'not measured', available: null });
  });

  it('the gpu-memory setting replaces the probe', async () => {
    const memory = new DeviceMemory(async () => {
      throw new Error('must not probe');
    });
    memory.setOverride(23e9);
    expect(await memory.check(26.8e9, 0, true)).toEqual({ fits: false, basis: 'setting', available: 23e9 });
    expect(await memory.check(20e9, 0, true)).toEqual({ fits: true, basis: 'setting', available: 23e9 });
  });
});

describe("the page's verdict", () => {
  const big: RunSettings = { ...DEFAULT_SETTINGS, batchSize: 64, maxLength: 512, quant: 'f16' };

  it('a run over the GPU memory but within every buffer limit does not fit, with the measured size in the message', async () => {
    const e = estimate(big);
    expect(checkFits(e, BIG_LIMITS)).toEqual({ ok: true }); // what the page used to say "✓ Fits" on
    const memory = new DeviceMemory(async (bytes) => bytes < e.total / 2);
    await memory.check(e.total / 4, 0, true);
    const r = await judgeMemory(e, big, { limits: BIG_LIMITS, memory, held: 0, canProbe: true, fromConfig: true });
    expect(r.fits).toBe(false);
    expect(r.basis).toBe('probe');
    expect(r.basisText).toMatch(/^Measured: this GPU could not allocate/);
    expect(r.message).toMatch(/this GPU allocated in a test/);
    expect(r.fromConfig).toBe(true);
    expect(r.fixes.map((f) => f.kind)).toEqual(['checkpointing', 'batch', 'length', 'targets', 'nf4', 'rank']);
  });

  it('fits under the setting, saying it was compared with the setting', async () => {
    const e = estimate(DEFAULT_SETTINGS);
    const memory = new DeviceMemory(async () => false);
    memory.setOverride(e.total);
    const r = await judgeMemory(e, DEFAULT_SETTINGS, { limits: BIG_LIMITS, memory, held: 0, canProbe: true, fromConfig: false });
    expect(r).toMatchObject({ fits: true, basis: 'setting', fixes: [], message: null });
    expect(r.basisText).toMatch(/gpu-memory setting/);
  });
});

describe('memoryFixes', () => {
  const s: RunSettings = { ...DEFAULT_SETTINGS, batchSize: 8, gradAccum: 2, maxLength: 512, quant: 'f16', loraR: 16, gradientCheckpointing: false };

  it('every fix offered shrinks the estimate, alone', () => {
    const e = estimate(s);
    const fit = checkFits(e, BIG_LIMITS, e.total - 1);
    const fixes = memoryFixes(s, e, fit);
    expect(fixes.map((f) => f.kind)).toEqual(['checkpointing', 'batch', 'length', 'targets', 'nf4', 'rank']);
    for (const f of fixes) expect(estimate({ ...s, ...f.patch }).total, f.label).toBeLessThan(e.total);
  });

  it('a smaller batch keeps the effective batch; fewer targets go to attention, then to q and v', () => {
    const fixes = memoryFixes(s, estimate(s), checkFits(estimate(s), BIG_LIMITS, 1));
    expect(fixes.find((f) => f.kind === 'batch')?.patch).toEqual({ batchSize: 4, gradAccum: 4 });
    expect(fixes.find((f) => f.kind === 'targets')?.patch).toEqual({ target: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] });
    const attention: RunSettings = { ...s, target: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] };
    expect(memoryFixes(attention, estimate(attention), checkFits(estimate(attention), BIG_LIMITS, 1)).find((f) => f.kind === 'targets')?.patch).toEqual({ target: ['q_proj', 'v_proj'] });
  });

  it('offers nothing already done, and nothing for a run that fits', () => {
    const lean: RunSettings = { ...DEFAULT_SETTINGS, batchSize: 1, maxLength: 8, quant: 'nf4', loraR: 4, gradientCheckpointing: true, target: ['q_proj', 'v_proj'] };
    expect(memoryFixes(lean, estimate(lean), checkFits(estimate(lean), BIG_LIMITS, 1))).toEqual([]);
    expect(memoryFixes(s, estimate(s), { ok: true })).toEqual([]);
  });

  it('a buffer over a WebGPU limit: only the levers that shrink that buffer', () => {
    const e = estimate(s);
    const fit = checkFits(e, { maxBufferSize: 2 ** 20, maxStorageBufferBindingSize: 2 ** 20 });
    expect(fit.ok).toBe(false);
    expect(e.largestBuffer.label).toMatch(/\[M,|logits/);
    expect(memoryFixes(s, e, fit).map((f) => f.kind)).toEqual(['batch', 'length']);
  });
});
