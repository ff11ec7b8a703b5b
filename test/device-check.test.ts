// The GPU machine's script up to the point where it needs a GPU: the bundles build; the device check's
// bundle runs on this adapter (SwiftShader on CI) at the small shapes and passes every product and
// attention check (the golden run it also does is test/golden.test.ts's, too slow on SwiftShader to
// repeat here); the checker fails what it should; the join of our lines with PEFT's gives the right
// ratios; scripts/gpu-bench.sh parses, its dry run names every step, and its steps hang together (run
// with stand-ins for the GPU's processes: a back end that fails its checks is not timed, PEFT still runs,
// the join appends ratio lines); datasheet profiles match names
// and the per-kernel table carries their floors (given ceilings: measuring them takes minutes here).
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SWIFTSHADER_ICD } from '../src/io/node-gpu';
import { compare } from '../src/bench/device-check';
import { deviceProfile, floorMs } from '../src/bench/device-profiles';
import { benchKernels, bestSweepTflops } from '../src/bench/kernel-bench';
import { shapeConfig } from '../src/bench/shapes';
import { randomModel } from '../src/bench/random-weights';
import { gpu } from './helpers/gpu';

const ROOT = new URL('..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'qlora-device-check-'));
// The bundle outside the repo finds Dawn the way it does on the GPU machine: by DAWN_NODE_PATH, not node_modules.
const DAWN = join(ROOT, 'node_modules/webgpu/dist/linux-x64/dawn.node');
const env = { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD, DAWN_NODE_PATH: DAWN };

// 6 minutes: on a shared 2-core runner the --quick check compiles every kernel on SwiftShader, the
// emulated tensor-core attention's three among them (~20 s more since attention follows the back end).
function node(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env: opts.env ?? env, encoding: 'utf8', timeout: 360_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lines = (text: string) => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

describe('device check bundle', () => {
  beforeAll(() => {
    const r = node(['scripts/bench.mjs', '--bundle-only', join(tmp, 'bench.js')]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('builds the bench and the device check side by side', () => {
    expect(existsSync(join(tmp, 'bench.js'))).toBe(true);
    expect(existsSync(join(tmp, 'device-check.js'))).toBe(true);
  });

  it('runs on this adapter with --quick and reports every product and attention check ok', () => {
    const verdict = join(tmp, 'backends.tsv');
    const r = node([join(tmp, 'device-check.js'), '--quick', '--checks', 'products,attention', '--backends', verdict]);
    const out = lines(r.stdout);
    const checks = out.filter((l) => l.kind === 'check');
    const failed = checks.filter((l) => !l.ok);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    for (const c of checks) expect(Object.keys(c)).toEqual(expect.arrayContaining(['kind', 'name', 'backend', 'ok', 'worst_abs', 'worst_rel', 'tol']));
    const names = checks.map((c) => c.name as string);
    for (const what of ['dense M=', 'dense through dropout', 'linear f32', 'linear nf4 ', 'linear nf4dq', 'fused LoRA linear nf4dq', 'grouped LoRA', 'attention ']) {
      expect(names.some((n) => n.startsWith(what)), what).toBe(true);
    }
    const summary = out.find((l) => l.kind === 'check-summary');
    expect(summary).toMatchObject({ ok: true, quick: true, checks: ['products', 'attention'] });
    // SwiftShader runs scalar and the emulated tensor-core walk (no shader-f16, no subgroup matrices)
    expect(summary.backends.map((b: { name: string }) => b.name)).toEqual(['scalar', 'subgroup-matrix-emulated']);
    expect(summary.backends.every((b: { ok: boolean; failed: number }) => b.ok && b.failed === 0)).toBe(true);
    // the verdict scripts/gpu-bench.sh reads: name, ok|ok-untimed|failed, bench flags (the emulation is checked, never timed)
    expect(readFileSync(verdict, 'utf8').split('\n').slice(0, 2)).toEqual(['scalar\tok\t--gemm scalar', 'subgroup-matrix-emulated\tok-untimed\t--gemm subgroup-matrix-emulated']);
  }, 420_000);

  it('refuses an unknown check group with exit status 2', () => {
    const r = node([join(tmp, 'device-check.js'), '--checks', 'products,speed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--checks takes products, attention, golden');
  });
});

describe('the checker', () => {
  it('passes within atol + rtol·|want| and reports the worst errors', () => {
    const l = compare('x', 'f32', [1.000001, 0, -2], [1, 1e-7, -2.000002], { atol: 1e-6, rtol: 1e-5 });
    expect(l.ok).toBe(true);
    expect(l.worst_abs).toBeCloseTo(2e-6, 12);
    expect(l.worst_rel).toBeCloseTo(1e-6, 9);
  });

  it('fails a mismatch, a NaN and a length difference, naming the first bad element', () => {
    const bad = compare('y', 'f16', [1, 2.1], [1, 2], { atol: 1e-3, rtol: 1e-3 });
    expect(bad).toMatchObject({ ok: false, backend: 'f16' });
    expect(bad.detail).toContain('[1] got 2.1 expected 2');
    expect(compare('z', 'f32', [NaN], [0], { atol: 1, rtol: 1 }).ok).toBe(false);
    expect(compare('w', 'f32', [1], [1, 2], { atol: 1, rtol: 1 }).ok).toBe(false);
  });
});

describe('join of our lines with PEFT', () => {
  const ALL = 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj';
  const train = (model: string, backend: string, tps: number) => ({
    kind: 'train', backend, model, batch: 8, seq: 512, r: 16, targets: ALL, quant: 'nf4', gradient_checkpointing: false,
    matmul_f16: backend === 'f16', tokens_per_s: tps, step_ms: (4096 / tps) * 1000, device: 'nvidia hopper NVIDIA H200', date: '2026-12-02T14:00:00.000Z', commit: 'abc1234',
  });
  const peftLine = (model: string, tok_s: number) => JSON.stringify({ model, batch: 8, seq: 512, r: 16, targets: 'all', ckpt: false, step_ms: 4096000 / tok_s, tok_s, peak_gib: 2.5 });

  it('gives one peft line per PEFT configuration and ratio = ours ÷ PEFT per shape and back end', () => {
    const ours = join(tmp, 'ours.jsonl');
    const peft = join(tmp, 'peft.jsonl');
    writeFileSync(ours, [
      train('smollm2-135m', 'f32', 20480), train('smollm2-135m', 'f16', 81920), train('llama3.2-1b', 'f32', 1024),
      { ...train('qwen2.5-0.5b', 'f32', 5000) }, // no PEFT line for it: named on stderr
      { kind: 'kernel', model: 'llama3.2-1b', kernel: 'nf4 matmul fwd', ms: 1 },
      { ...train('smollm2-135m', 'f32', null as unknown as number), tokens_per_s: null }, // alloc-only: no speed
    ].map((l) => JSON.stringify(l)).join('\n') + '\n');
    writeFileSync(peft, ['Some weights of the model were not initialized (a warning)', peftLine('smollm2-135m', 40960), peftLine('llama3.2-1b', 8192), peftLine('gemma3-270m', 1000), '{"model": "llama3-8b", "batch'].join('\n') + '\n');
    const r = node(['scripts/join-peft.mjs', '--ours', ours, '--peft', peft, '--device', 'NVIDIA H200', '--commit', 'abc1234', '--date', '2026-12-02T14:05:00.000Z']);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    const peftOut = out.filter((l) => l.kind === 'peft');
    expect(peftOut.map((l) => l.model)).toEqual(['smollm2-135m', 'llama3.2-1b', 'gemma3-270m']);
    expect(peftOut[0]).toMatchObject({ batch: 8, seq: 512, r: 16, targets: ALL, gradient_checkpointing: false, base: 'bf16', tokens_per_s: 40960, peak_gpu_bytes: 2.5 * 2 ** 30, device: 'NVIDIA H200', commit: 'abc1234', date: '2026-12-02T14:05:00.000Z' });
    const ratios = out.filter((l) => l.kind === 'ratio').map((l) => [l.model, l.backend, l.ratio]);
    expect(ratios).toEqual([['smollm2-135m', 'f32', 0.5], ['smollm2-135m', 'f16', 2], ['llama3.2-1b', 'f32', 0.125]]);
    expect(out.find((l) => l.kind === 'ratio')).toMatchObject({ ours_tokens_per_s: 20480, peft_tokens_per_s: 40960, quant: 'nf4', peft_base: 'bf16', ours_device: 'nvidia hopper NVIDIA H200', device: 'NVIDIA H200' });
    expect(r.stderr).toContain('ours qwen2.5-0.5b 8x512 r=16 f32: no PEFT line');
    expect(r.stderr).toContain('PEFT gemma3-270m 8x512 r=16: no line of ours');
  });
});

describe('scripts/gpu-bench.sh', () => {
  it('parses', () => {
    const r = spawnSync('bash', ['-n', 'scripts/gpu-bench.sh'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('dry run names each step with its cap, the PEFT settings and the join, and runs nothing', () => {
    const out = mkdtempSync(join(tmpdir(), 'qlora-gpu-bench-dry-'));
    const r = spawnSync('bash', ['scripts/gpu-bench.sh'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OUT: out, GPU_BENCH_DRY: '1', BENCH_COMMIT: 'abc1234' } });
    expect(r.status, r.stderr).toBe(0);
    const said = r.stderr;
    expect(said).toContain('[dry] step 1: device check (cap 90s): .gpu/run.sh .gpu/device-check.js --backends');
    expect(said).toMatch(/\[dry\] step 2: kernels.*--model llama3\.2-1b --batch 8 --seq 512 --steps 3 --kernels-only/);
    for (const m of ['smollm2-135m', 'qwen2.5-0.5b', 'llama3.2-1b']) expect(said).toMatch(new RegExp(`\\[dry\\] step 3: train ${m.replace('.', '\\.')}.*--commit abc1234 --model ${m.replace('.', '\\.')} --batch 8 --seq 512 --steps 3 --profile`));
    expect(said).toMatch(/\[dry\] step 1b: variant sweep \(cap 150s\): .*\.gpu\/bench\.js --sweep --sweep-out \S*sweep\.json/);
    expect(said).toMatch(/\[dry\] step 4: PEFT baseline \(cap 110s\): env .*CONFIGS=8x512 STEPS=5 .*peft_baseline\.py smollm2-135m qwen2\.5-0\.5b llama3\.2-1b/);
    expect(said).toContain('[dry] step 5: join (cap 10s): .gpu/run.sh scripts/join-peft.mjs');
    expect(existsSync(join(out, 'results.jsonl'))).toBe(false);
  });
});

// Stand-ins for what only the GPU machine has: the runner's device check says f32 passed and f16 failed,
// its bench appends one train line per call at 1000 tokens/s; nvidia-smi names an H200; python3 prints
// PEFT lines at 4000 tokens/s. The join is the real one, run by node.
const FAKE_RUNNER = `#!/usr/bin/env bash
script=$1; shift
case $script in
  .gpu/device-check.js)
    while [ $# -gt 0 ]; do [ "$1" = --backends ] && printf "\${FAKE_VERDICT:-f32\\tok\\t\\nf16\\tfailed\\t--matmul-f16\\n}" > "$2"; shift; done
    echo '{"kind":"check","name":"dense","backend":"f16","ok":false,"worst_abs":1,"worst_rel":1,"tol":{"atol":0.002,"rtol":0.004}}'
    echo '{"kind":"check-summary","device":"fake","ok":false,"backends":[{"name":"f32","ok":true},{"name":"f16","ok":false}]}'
    exit 1 ;;
  .gpu/bench.js)
    if [ "$1" = --help ]; then echo "bench: --model … --profile \${FAKE_SWEEP:+--sweep --sweep-out FILE}"; exit 0; fi
    echo "bench $*" >> "$FAKE_CALLS"
    while [ $# -gt 0 ]; do case $1 in --record) rec=$2 ;; --model) model=$2 ;; --matmul-f16) be=f16 ;; --kernels-only) k=1 ;; --lm-head-split-k) split=4 ;; --profile) prof=1 ;; --sweep-out) sweep=$2 ;; esac; shift; done
    if [ -n "\${sweep:-}" ]; then echo '{"entries":[{"tflops":123.5}]}' > "$sweep"; exit 0; fi
    [ -n "\${k:-}" ] && exit 0
    [ -n "\${prof:-}" ] && echo "{\\"kind\\":\\"profile\\",\\"model\\":\\"$model\\",\\"batch\\":8,\\"seq\\":512,\\"gemm_backend\\":\\"\${be:-f32}\\",\\"clock\\":\\"timestamp\\",\\"dispatches\\":2,\\"total_ms\\":3,\\"step_ms\\":4,\\"groups\\":{\\"products\\":{\\"ms\\":2,\\"share\\":0.667,\\"count\\":1},\\"attention\\":{\\"ms\\":1,\\"share\\":0.333,\\"count\\":1}},\\"kernels\\":[{\\"group\\":\\"products\\",\\"kernel\\":\\"linear_fwd_nf4\\",\\"shape\\":\\"4096x8192x2048\\",\\"count\\":1,\\"ms\\":2,\\"tflops\\":68.7}]}" >> "$rec"
    echo "{\\"kind\\":\\"train\\",\\"backend\\":\\"\${be:-f32}\\",\\"model\\":\\"$model\\",\\"batch\\":8,\\"seq\\":512,\\"r\\":16,\\"targets\\":\\"q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj\\",\\"quant\\":\\"nf4\\",\\"gradient_checkpointing\\":false,\\"tokens_per_s\\":1000,\\"lm_head_split_k\\":\${split:-1},\\"device\\":\\"fake\\"}" >> "$rec" ;;
  --version) echo v0-fake ;;
  *) exec node "$script" "$@" ;;
esac
`;
const FAKE_PYTHON = `#!/usr/bin/env bash
case "$*" in *peft_baseline*) ;; *) exit 0 ;; esac
[ "$CONFIGS" = 8x512 ] && [ "$STEPS" = 5 ] || { echo "CONFIGS=$CONFIGS STEPS=$STEPS" >&2; exit 3; }
for m in "\${@:2}"; do echo "{\\"model\\": \\"$m\\", \\"batch\\": 8, \\"seq\\": 512, \\"r\\": 16, \\"targets\\": \\"all\\", \\"ckpt\\": false, \\"step_ms\\": 1024.0, \\"tok_s\\": 4000, \\"peak_gib\\": 3.0}"; done
`;

describe('scripts/gpu-bench.sh with stand-ins for the GPU', () => {
  function runWithStandIns(extraEnv: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'qlora-gpu-bench-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const put = (path: string, text: string) => { writeFileSync(path, text); chmodSync(path, 0o755); };
    put(join(dir, 'runner.sh'), FAKE_RUNNER);
    put(join(bin, 'python3'), FAKE_PYTHON);
    put(join(bin, 'nvidia-smi'), '#!/usr/bin/env bash\necho "NVIDIA H200"\n');
    put(join(dir, 'peft_baseline.py'), '# stands in for ../shared/tools/peft_baseline.py: the fake python3 answers for it\n');
    const out = join(dir, 'out');
    const r = spawnSync('bash', ['scripts/gpu-bench.sh'], {
      cwd: ROOT, encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, OUT: out, RUNNER: join(dir, 'runner.sh'), FAKE_CALLS: join(dir, 'calls'), GPU_BENCH_STATE: join(dir, 'state'), PEFT_BASELINE: join(dir, 'peft_baseline.py'), BENCH_COMMIT: 'abc1234',
        GPU_BENCH_BUNDLE: join(dir, 'bench.js'), // the stand-in's bundle (none), not a .gpu/bench.js a developer bundled
        ...extraEnv },
    });
    const calls = existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : [];
    return { r, out, calls };
  }

  it('reports every back end, times only those that passed, profiles each step, runs PEFT anyway, and appends ratio lines', () => {
    const { r, out, calls } = runWithStandIns();
    expect(r.status, r.stderr).toBe(0);
    expect(calls).toHaveLength(5); // kernels + 3 models + the 1B again with the lm_head split, f32 only
    expect(calls[4]).toMatch(/--model llama3\.2-1b .*--lm-head-split-k auto/);
    expect(calls.every((c) => !c.includes('--matmul-f16'))).toBe(true);
    expect(calls[0]).toContain('--device-name NVIDIA H200');
    expect(calls[0]).not.toContain('--product-ceiling');
    expect(calls.slice(1, 4).every((c) => c.includes('--profile'))).toBe(true);
    expect(r.stderr).toContain('step 1: checks failed; those back ends are not timed');
    expect(r.stderr).toContain('f32: passed: timed');
    expect(r.stderr).toContain('f16: FAILED: reported, not timed');
    expect(r.stderr).toContain('step 1b: sweep skipped: this bench has no --sweep');
    // the profile summary, from the profile lines the (stand-in) bench recorded
    expect(r.stderr).toMatch(/profile llama3\.2-1b 8x512 f32 \(timestamp, 2 dispatches\): Σ 3\.00 ms, step 4\.00 ms \| products 67%, attention 33%/);
    expect(r.stderr).toMatch(/products +linear_fwd_nf4 4096x8192x2048 +×1 +2\.00 ms +68\.7 TFLOP\/s/);
    const results = lines(readFileSync(join(out, 'results.jsonl'), 'utf8'));
    expect(results[0]).toMatchObject({ kind: 'check-summary', ok: false, commit: 'abc1234' });
    expect(results.filter((l) => l.kind === 'profile')).toHaveLength(3);
    expect(results.filter((l) => l.kind === 'peft')).toHaveLength(3);
    const ratios = results.filter((l) => l.kind === 'ratio');
    expect(ratios.map((l) => [l.model, l.backend, l.lm_head_split_k, l.ratio])).toEqual([
      ['smollm2-135m', 'f32', 1, 0.25], ['qwen2.5-0.5b', 'f32', 1, 0.25], ['llama3.2-1b', 'f32', 1, 0.25], ['llama3.2-1b', 'f32', 4, 0.25],
    ]);
    expect(ratios[0]).toMatchObject({ device: 'NVIDIA H200', commit: 'abc1234' });
    for (const f of ['checks.jsonl', 'peft.jsonl', 'env.txt', 'log.txt']) expect(existsSync(join(out, f)), f).toBe(true);
  });

  it('times the passing back ends most telling first, each over the whole grid, and splits lm_head on the first only', () => {
    const verdict = ['scalar\tok\t--gemm scalar', 'scalar-f16\tok\t--gemm scalar-f16', 'subgroup-matrix\tok\t--gemm subgroup-matrix', 'subgroup-matrix-emulated\tok-untimed\t--gemm subgroup-matrix-emulated', ''].join('\\n');
    const { r, calls } = runWithStandIns({ FAKE_VERDICT: verdict, GPU_BENCH_STEPS: '1 3' });
    expect(r.status, r.stderr).toBe(0);
    const runs = calls.map((c) => [c.match(/--model (\S+)/)![1], c.match(/--gemm (\S+)/)![1], c.includes('--lm-head-split-k')]);
    const grid = (be: string) => ['smollm2-135m', 'qwen2.5-0.5b', 'llama3.2-1b'].map((m) => [m, be, false]);
    expect(runs).toEqual([...grid('subgroup-matrix'), ...grid('scalar-f16'), ...grid('scalar'), ['llama3.2-1b', 'subgroup-matrix', true]]);
    expect(r.stderr).toContain('subgroup-matrix-emulated: passed: checked only');
  });

  it('runs the sweep when the bench lists --sweep, and the kernel table takes its ceiling from the file', () => {
    const { r, out, calls } = runWithStandIns({ FAKE_SWEEP: '1', GPU_BENCH_STEPS: '1 1b 2' });
    expect(r.status, r.stderr).toBe(0);
    expect(calls[0]).toMatch(/^bench --sweep --sweep-out \S+\/out\/sweep\.json/);
    expect(calls[1]).toContain(`--kernels-only --product-ceiling ${join(out, 'sweep.json')}`);
    expect(existsSync(join(out, 'sweep.json'))).toBe(true);
  });
});

describe('datasheet profiles', () => {
  it('match nvidia-smi and adapter names, the specific part before the family', () => {
    expect(deviceProfile('NVIDIA H200')).toMatchObject({ name: 'NVIDIA H200 SXM', tensorTflops: 989, fp32Tflops: 67, memGbps: 4800 });
    expect(deviceProfile('NVIDIA H100 80GB HBM3')).toMatchObject({ name: 'NVIDIA H100 SXM', memGbps: 3350 });
    expect(deviceProfile('NVIDIA H100 PCIe')?.name).toBe('NVIDIA H100 PCIe');
    expect(deviceProfile(undefined, 'nvidia hopper NVIDIA H200 NVL')?.name).toBe('NVIDIA H200 NVL');
    expect(deviceProfile('', 'google swiftshader swiftshader-device-subzero- SwiftShader driver 5.0.0')).toBeNull();
  });

  it('floor = the larger of FLOPs at the peak and bytes at the bandwidth', () => {
    expect(floorMs(989e12, 0, 989, 4800)).toBeCloseTo(1000, 9); // 1 s of peak FLOPs
    expect(floorMs(1, 4.8e9, 989, 4800)).toBeCloseTo(1, 9); // 4.8 GB at 4.8 TB/s
  });
});

describe('per-kernel table', () => {
  const cfg = shapeConfig('tiny')!;
  const gate = randomModel(cfg, 'nf4').layers[0].proj.gate_proj!;
  const ceilings = { tflops: 2, gbps: 100 };

  it('adds the floors at the datasheet peaks beside the floor at the measured ceilings', async () => {
    const rows = await benchKernels(await gpu(), cfg, gate, 1, 16, 4096, ceilings, deviceProfile('NVIDIA H200'), 1);
    expect(rows.map((r) => r.kernel)).toEqual(['nf4 matmul fwd', 'nf4 matmul bwd (dx)', 'attention fwd', 'attention bwd', 'cross-entropy (chunk)', 'grad norm + AdamW']);
    for (const r of rows) {
      expect(r.datasheet).toBe('NVIDIA H200 SXM');
      // same FLOPs and bytes, faster peaks: the datasheet floors are below the measured-ceiling one
      expect(r.floor_ms_datasheet_tensor!).toBeLessThanOrEqual(r.floor_ms_datasheet_fp32!);
      expect(r.floor_ms_datasheet_fp32!).toBeLessThan(r.floor_ms);
      expect(r.efficiency).toBeCloseTo(r.floor_ms / r.ms, 12);
    }
  });

  it("takes the FLOP/s ceiling from a sweep's result file, whatever its layout", () => {
    expect(bestSweepTflops(JSON.stringify({ adapter: {}, entries: [{ shape: 'a', tflops: 61.5 }, { variants: [{ tflops: 140.25 }] }] }))).toBe(140.25);
    expect(bestSweepTflops('{"kind":"sweep","tflops":3}\n{"kind":"sweep","tflops":12.5}\n')).toBe(12.5);
    expect(bestSweepTflops('{"kind":"sweep"}')).toBeNull();
  });

  it('without a profile has only the measured-ceiling floor', async () => {
    const [row] = await benchKernels(await gpu(), cfg, gate, 1, 16, 4096, ceilings, deviceProfile('SwiftShader'), 1);
    expect(Object.keys(row)).not.toContain('floor_ms_datasheet_fp32');
    expect(row.floor_ms).toBeGreaterThan(0);
  });
});
