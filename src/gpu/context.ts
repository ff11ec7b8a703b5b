// The one module that talks to the WebGPU runtime: device creation with the limits the engine needs,
// tracked buffer allocation (peak bytes for the benchmarks and the memory estimate), uploads and
// readbacks, pipeline caching and error scopes turned into QloraErrors.

import { QloraError } from '../errors';
import type { GemmBackend, GemmSetup, GemmTile, MatrixShape } from './gemm/config';
import { DEFAULT_FRAG, EMULATED_SUBGROUP_SIZE } from './gemm/config';
import { TUNING_TABLE, adapterKey, tunedTilings } from './gemm/tuning';

export interface GpuFeatures {
  /** `shader-f16`: f16 arithmetic in WGSL. */
  readonly f16: boolean;
  /** `subgroups`: subgroupAdd & co. */
  readonly subgroups: boolean;
  /**
   * `chromium-experimental-subgroup-matrix` with an f16-operand, f32-result configuration (with
   * `shader-f16`): that fragment shape, else null. Dawn lists the feature only with allow_unsafe_apis.
   */
  readonly subgroupMatrix: MatrixShape | null;
}

/**
 * How a product reads an NF4 weight: dequantized as each tile loads it (weight_nf4*.wgsl, exact f32
 * values), or decoded once per use into an f16 scratch that the product reads as an f16 weight
 * (ops/nf4-decode.ts: every weight rounded to the nearest f16; for the f16 back ends).
 */
export type Nf4Decode = 'in-tile' | 'f16-scratch';

export interface GpuContext {
  readonly device: GPUDevice;
  readonly features: GpuFeatures;
  readonly limits: GPUSupportedLimits;
  readonly adapterDescription: string;
  /** The back end every matrix product is generated for (src/gpu/gemm/), and what it is generated with. */
  readonly gemmBackend: GemmBackend;
  readonly gemm: GemmSetup;
  /** Why the default back end was not used (its self-check failed: gemm/self-check.ts), else absent. */
  readonly gemmFallback?: string;
  /** Matrix products round their operands to f16 (every back end but `scalar`). */
  readonly matmulF16: boolean;
  /** NF4 projections of the decoder: decoded in the tiles, or into a per-pass f16 scratch (the default on subgroup-matrix). */
  readonly nf4Decode: Nf4Decode;
  /**
   * Training and evaluation passes submit segment by segment with at most two queued (Program.submitPaced),
   * so a page sharing the GPU stays responsive; off, each pass goes in at once (CLI, benchmarks).
   */
  readonly pacedSubmission: boolean;
  /** Bytes held by live buffers created through `createBuffer`, and the highest it has been. */
  readonly memory: { inUse: number; peak: number };
  createBuffer(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer;
  destroyBuffer(buffer: GPUBuffer): void;
  /** Cached by source text + constants: building a pipeline is slow on every backend. */
  pipeline(code: string, label: string, constants?: Record<string, number>): GPUComputePipeline;
}

/** Storage buffers the engine binds in one kernel at most (the NF4 matmul). WebGPU's default is 8. */
const STORAGE_BUFFERS_NEEDED = 8;

export interface GpuContextOptions {
  /** Request `shader-f16` when the adapter has it (default true). */
  f16?: boolean;
  /** Run matrix products on the scalar f16 path (`scalar-f16`; needs `shader-f16`). */
  matmulF16?: boolean;
  /**
   * Force the matrix-product back end (default: `subgroup-matrix` where the adapter has it, else
   * `scalar`). Forcing one the adapter cannot run throws ADAPTER_LIMITS.
   */
  gemm?: GemmBackend;
  /** Force the workgroup tile of every product (default: by shape, gemm/config.ts chooseTile). */
  gemmTile?: GemmTile;
  /** The fragment shape `subgroup-matrix-emulated` emulates (default: the adapter's, else 16×16×16). */
  gemmFrag?: MatrixShape;
  /** How the decoder's products read NF4 weights (default: 'f16-scratch' on subgroup-matrix, whose operands are f16 anyway; else 'in-tile', the exact f32 values). */
  nf4Decode?: Nf4Decode;
  /** Pace the submissions of training and evaluation passes (default false; the app's worker turns it on). */
  pacedSubmission?: boolean;
}

export async function createGpuContext(adapter: GPUAdapter, opts: GpuContextOptions = {}): Promise<GpuContext> {
  const a = adapter.limits;
  if (a.maxStorageBuffersPerShaderStage < STORAGE_BUFFERS_NEEDED) {
    throw new QloraError(
      'ADAPTER_LIMITS',
      `This GPU allows ${a.maxStorageBuffersPerShaderStage} storage buffers per shader stage; the engine needs ${STORAGE_BUFFERS_NEEDED}. ` +
        'Try another browser or GPU.',
    );
  }
  const wanted: GPUFeatureName[] = [];
  const f16 = (opts.f16 ?? true) && adapter.features.has('shader-f16');
  if (f16) wanted.push('shader-f16');
  const subgroups = adapter.features.has('subgroups' as GPUFeatureName);
  if (subgroups) wanted.push('subgroups' as GPUFeatureName);
  if (adapter.features.has('timestamp-query')) wanted.push('timestamp-query');
  const subgroupMatrix = f16 && subgroups ? f16MatrixConfig(adapter) : null;
  if (subgroupMatrix) wanted.push(SUBGROUP_MATRIX_FEATURE);
  const gemm = gemmSetup(adapter, { f16, subgroupMatrix }, opts);
  const device = await adapter.requestDevice({
    requiredFeatures: wanted,
    // Ask for everything the adapter has: large models need big bindings, and asking costs nothing.
    requiredLimits: {
      maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
      maxBufferSize: a.maxBufferSize,
      maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
    },
  });
  const info = adapter.info;
  const adapterDescription =
    [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s).join(' ') || 'unknown adapter';
  const memory = { inUse: 0, peak: 0 };
  const sizes = new WeakMap<GPUBuffer, number>();
  const pipelines = new Map<string, GPUComputePipeline>();
  const ctx: GpuContext = {
    device,
    features: { f16, subgroups, subgroupMatrix },
    limits: device.limits,
    adapterDescription,
    gemmBackend: gemm.backend,
    gemm,
    matmulF16: gemm.backend !== 'scalar',
    nf4Decode: opts.nf4Decode ?? (gemm.backend === 'subgroup-matrix' ? 'f16-scratch' : 'in-tile'),
    pacedSubmission: !!opts.pacedSubmission,
    memory,
    createBuffer(bytes, usage, label) {
      // WebGPU wants sizes in multiples of 4 for storage use; round up rather than trusting callers.
      const size = Math.max(4, Math.ceil(bytes / 4) * 4);
      if (size > device.limits.maxBufferSize) {
        throw new QloraError(
          'ADAPTER_LIMITS',
          `Buffer "${label}" needs ${size} bytes but this GPU allows ${device.limits.maxBufferSize} per buffer.`,
        );
      }
      const buffer = device.createBuffer({ size, usage, label });
      sizes.set(buffer, size);
      memory.inUse += size;
      memory.peak = Math.max(memory.peak, memory.inUse);
      return buffer;
    },
    destroyBuffer(buffer) {
      const size = sizes.get(buffer);
      if (size !== undefined) {
        memory.inUse -= size;
        sizes.delete(buffer);
      }
      buffer.destroy();
    },
    pipeline(code, label, constants) {
      const key = code + '\u0000' + JSON.stringify(constants ?? {});
      let p = pipelines.get(key);
      if (!p) {
        const module = device.createShaderModule({ code, label });
        p = device.createComputePipeline({
          label,
          layout: 'auto',
          compute: { module, entryPoint: 'main', constants },
        });
        pipelines.set(key, p);
      }
      return p;
    },
  };
  // Chosen by default, the experimental tensor-core back end must first prove itself on this driver.
  if (ctx.gemmBackend === 'subgroup-matrix' && !opts.gemm) {
    const { checkGemmBackend } = await import('./gemm/self-check');
    const why = await checkGemmBackend(ctx);
    if (why) {
      // The scalar back end's own tuned tilings: the tensor-core ones mean nothing to it.
      const tuned = gemm.adapter ? tunedTilings(TUNING_TABLE, gemm.adapter, 'scalar', gemm.frag, EMULATED_SUBGROUP_SIZE, a.maxComputeWorkgroupStorageSize) : undefined;
      const scalar: GemmSetup = { ...gemm, backend: 'scalar', subgroupSize: EMULATED_SUBGROUP_SIZE, tuned };
      return { ...ctx, gemmBackend: 'scalar', gemm: scalar, matmulF16: false, nf4Decode: opts.nf4Decode ?? 'in-tile', gemmFallback: why };
    }
  }
  return ctx;
}

const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix' as GPUFeatureName;

interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** The adapter's f16 × f16 → f32 fragment shape (16×16×16 preferred: NVIDIA's), or null. */
function f16MatrixConfig(adapter: GPUAdapter): MatrixShape | null {
  if (!adapter.features.has(SUBGROUP_MATRIX_FEATURE)) return null;
  // WebIDL objects: spreading one gives {}, so the fields are read by name.
  const info = adapter.info as unknown as { subgroupMatrixConfigs?: Iterable<SubgroupMatrixConfig> };
  const fits = [...(info.subgroupMatrixConfigs ?? [])]
    .filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32')
    .map((c) => ({ M: c.M, N: c.N, K: c.K }))
    .filter((c) => 32 % c.M === 0 && 32 % c.N === 0 && 32 % c.K === 0); // a quarter of the 64 tile and the 32-deep k step split into them
  return fits.find((c) => c.M === 16 && c.N === 16 && c.K === 16) ?? fits[0] ?? null;
}

function gemmSetup(adapter: GPUAdapter, f: { f16: boolean; subgroupMatrix: MatrixShape | null }, opts: GpuContextOptions): GemmSetup {
  const backend: GemmBackend = opts.gemm ?? (opts.matmulF16 ? 'scalar-f16' : f.subgroupMatrix ? 'subgroup-matrix' : 'scalar');
  const refuse = (needs: string) => {
    throw new QloraError('ADAPTER_LIMITS', `Matrix products on '${backend}' need ${needs}, which this adapter does not offer. Use 'scalar' (or leave the choice to the engine).`);
  };
  if (backend === 'scalar-f16' && !f.f16) refuse('shader-f16');
  if (backend === 'subgroup-matrix' && !f.subgroupMatrix) refuse('chromium-experimental-subgroup-matrix with an f16 configuration, shader-f16 and subgroups (Dawn: allow_unsafe_apis)');
  const frag = backend === 'subgroup-matrix' ? f.subgroupMatrix! : opts.gemmFrag ?? f.subgroupMatrix ?? DEFAULT_FRAG;
  const subgroupSize = backend === 'subgroup-matrix' ? adapter.info.subgroupMaxSize ?? 32 : EMULATED_SUBGROUP_SIZE;
  // The tuning table's tilings for this adapter (gemm/tuning.ts); none where it has no entry, or a tile is forced.
  const adapterId = adapterKey(adapter.info);
  const tuned = opts.gemmTile ? undefined : tunedTilings(TUNING_TABLE, adapterId, backend, frag, subgroupSize, adapter.limits.maxComputeWorkgroupStorageSize);
  return { backend, frag, subgroupSize, tile: opts.gemmTile, tuned, adapter: adapterId };
}

// WebGPU's usage bits as numbers: the GPUBufferUsage global does not exist in Node until Dawn is
// loaded, and modules are imported before that.
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
export const STORAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;
const MAP_MODE_READ = 0x1;

/** A storage buffer holding `data` (padded to 4 bytes). */
export function uploadBuffer(ctx: GpuContext, data: ArrayBufferView, label: string): GPUBuffer {
  const buf = ctx.createBuffer(data.byteLength, STORAGE, label);
  writeBuffer(ctx, buf, 0, data);
  return buf;
}

/** queue.writeBuffer wants a multiple of 4 bytes; pad the tail with zeros when it is not. */
export function writeBuffer(ctx: GpuContext, buf: GPUBuffer, offset: number, data: ArrayBufferView): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const aligned = bytes.byteLength & ~3;
  if (aligned > 0) ctx.device.queue.writeBuffer(buf, offset, bytes, 0, aligned);
  if (aligned < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(aligned));
    ctx.device.queue.writeBuffer(buf, offset + aligned, tail);
  }
}

/**
 * GPU→CPU maps since the process started: every readback goes through mapStaging, so the bench and
 * the tests can check that a training step does none (a map waits for the queue up to its copy).
 */
export const readbackCounter = { maps: 0 };

/** A buffer `copyBufferToBuffer` can fill and mapStaging read (its size rounded up to 4 bytes). */
export function createStaging(ctx: GpuContext, bytes: number, label: string): GPUBuffer {
  return ctx.device.createBuffer({ size: Math.max(4, Math.ceil(bytes / 4) * 4), usage: USAGE.MAP_READ | USAGE.COPY_DST, label });
}

/** The first `bytes` of a staging buffer once the GPU has written it; the buffer is unmapped again for reuse. */
export async function mapStaging(staging: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  readbackCounter.maps++;
  await staging.mapAsync(MAP_MODE_READ);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  return out;
}

/** Copies `bytes` from `buf` at `offset` back to the CPU. */
export async function readBuffer(ctx: GpuContext, buf: GPUBuffer, offset = 0, bytes = buf.size - offset): Promise<ArrayBuffer> {
  const size = Math.ceil(bytes / 4) * 4;
  const staging = createStaging(ctx, size, 'readback');
  const enc = ctx.device.createCommandEncoder({ label: 'readback' });
  enc.copyBufferToBuffer(buf, offset, staging, 0, size);
  ctx.device.queue.submit([enc.finish()]);
  const out = await mapStaging(staging, bytes);
  staging.destroy();
  return out;
}

export async function readF32(ctx: GpuContext, buf: GPUBuffer, offsetElems = 0, count?: number): Promise<Float32Array> {
  const n = count ?? buf.size / 4 - offsetElems;
  return new Float32Array(await readBuffer(ctx, buf, offsetElems * 4, n * 4));
}

/**
 * Runs `body` inside validation + out-of-memory error scopes and turns what they catch into
 * QloraErrors, so a shader bug or an allocation that does not fit fails loudly where it happened.
 */
export async function withErrorScopes<T>(ctx: GpuContext, what: string, body: () => T): Promise<T> {
  ctx.device.pushErrorScope('out-of-memory');
  ctx.device.pushErrorScope('validation');
  const result = body();
  const validation = await ctx.device.popErrorScope();
  const oom = await ctx.device.popErrorScope();
  if (oom) {
    throw new QloraError('OUT_OF_MEMORY', `The GPU ran out of memory while ${what}: ${oom.message}. ` +
      'Reduce the batch size or sequence length, enable gradient checkpointing, or use NF4.');
  }
  if (validation) throw new QloraError('INTERNAL', `WebGPU validation error while ${what}: ${validation.message}`);
  return result;
}
