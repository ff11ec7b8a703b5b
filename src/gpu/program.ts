// Recording GPU work once and replaying it: a Program is a list of dispatches and copies whose bind
// groups and uniform parameters are built when it is recorded, so running a training step allocates
// nothing and only writes the few values that change (token ids, step number) before submitting.
//
// A program is cut into segments at the points the recorder marks (`boundary()`: after each block of
// a decoder layer, each chunk of logits), and each segment is its own queue submission. A segment is
// also cut before a dispatch that would take its estimated work past SUBMISSION_FLOPS (the products
// say their FLOPs when recorded), so no submission holds several large products: a watchdog that
// kills long submissions (Windows' TDR: 2 s; some drivers less) never sees one, without readbacks. A paced run
// keeps at most two segments queued, so another client of the GPU (the page's compositor, when the
// engine runs in a Worker) waits for one segment at most, never for a whole training step.
//
// Conventions for every kernel: binding 0 is the uniform parameter block when the kernel has one,
// then the storage buffers in the order the op wrapper lists them; the entry point is `main`.

import type { GpuContext } from './context';
import { USAGE } from './context';
import { timeEach } from './profile';
import type { ProfileClock, TimedWork, WorkTime } from './profile';

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

/** Packs a kernel's uniform block: u32 / i32 / f32 fields in declaration order (all 4 bytes). */
export class Params {
  private readonly view: DataView;
  private n = 0;
  constructor(capacityFields = 32) {
    this.view = new DataView(new ArrayBuffer(capacityFields * 4));
  }
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`u32 param out of range: ${v}`);
    this.view.setUint32(this.n++ * 4, v, true);
    return this;
  }
  i32(v: number): this {
    this.view.setInt32(this.n++ * 4, v, true);
    return this;
  }
  f32(v: number): this {
    this.view.setFloat32(this.n++ * 4, v, true);
    return this;
  }
  bytes(): Uint8Array {
    // Uniform structs are padded to 16 bytes.
    const size = Math.max(16, Math.ceil((this.n * 4) / 16) * 16);
    return new Uint8Array(this.view.buffer, 0, size);
  }
}

/** What a dispatch computes, for the submission budget and the step profile (matrix products say it). */
export interface DispatchCost {
  flops: number;
  /** e.g. "4096x8192x2048" (M×N×K). */
  shape: string;
}

/**
 * Estimated FLOPs one submission may hold: ≈ 65 ms at the 2.3 TFLOP/s of the scalar product on an
 * H200 (the slowest back end measured), so two of Llama-3.2-1B's 137-GFLOP MLP products
 * (4096×8192×2048) never share one. A single dispatch above it is a submission of its own.
 */
export const SUBMISSION_FLOPS = 1.5e11;

type Step =
  | { kind: 'dispatch'; label: string; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; grid: [number, number, number]; cost?: DispatchCost }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; size: number }
  | { kind: 'boundary' };

export interface KernelSpec {
  label: string;
  code: string;
  constants?: Record<string, number>;
}

/** Uniform slices must start at multiples of this (WebGPU's minUniformBufferOffsetAlignment, at most 256). */
const UNIFORM_ALIGN = 256;

export class Recorder {
  private readonly steps: Step[] = [];
  private readonly pendingUniforms: { stepIndex: number; data: Uint8Array; slot: number; entries: GPUBindGroupEntry[]; pipeline: GPUComputePipeline }[] = [];
  private uniformBytes = 0;

  constructor(readonly ctx: GpuContext) {}

  /** `buffers` bind from 1 (0 without params) upward; null leaves a binding number unused; `cost` what it computes. */
  dispatch(kernel: KernelSpec, params: Params | null, buffers: (Binding | null)[], grid: [number, number?, number?], cost?: DispatchCost): void {
    const pipeline = this.ctx.pipeline(kernel.code, kernel.label, kernel.constants);
    const entries: GPUBindGroupEntry[] = [];
    let binding = params ? 1 : 0;
    for (const b of buffers) {
      if (b === null) {
        binding++;
        continue;
      }
      entries.push({ binding: binding++, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } });
    }
    const g: [number, number, number] = [grid[0], grid[1] ?? 1, grid[2] ?? 1];
    const limit = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    if (g.some((d) => d > limit)) throw new Error(`${kernel.label}: grid ${g.join('x')} exceeds ${limit} per dimension`);
    if (g.some((d) => d === 0)) return; // nothing to do (e.g. M = 0)
    if (params) {
      const data = params.bytes().slice();
      const slot = this.uniformBytes;
      this.uniformBytes += Math.ceil(data.byteLength / UNIFORM_ALIGN) * UNIFORM_ALIGN;
      this.steps.push({ kind: 'dispatch', label: kernel.label, pipeline, bindGroup: null as unknown as GPUBindGroup, grid: g, cost });
      this.pendingUniforms.push({ stepIndex: this.steps.length - 1, data, slot, entries, pipeline });
    } else {
      const bindGroup = this.ctx.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: kernel.label });
      this.steps.push({ kind: 'dispatch', label: kernel.label, pipeline, bindGroup, grid: g, cost });
    }
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size > 0) this.steps.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  clear(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): void {
    if (size > 0) this.steps.push({ kind: 'clear', buffer, offset, size });
  }

  /** Ends a submission segment here (a no-op at the start or right after another boundary). */
  boundary(): void {
    const last = this.steps[this.steps.length - 1];
    if (last && last.kind !== 'boundary') this.steps.push({ kind: 'boundary' });
  }

  /** Builds the bind groups that read uniforms (one buffer for the whole program). */
  finish(label: string): Program {
    let uniforms: GPUBuffer | null = null;
    if (this.uniformBytes > 0) {
      uniforms = this.ctx.createBuffer(this.uniformBytes, USAGE.UNIFORM | USAGE.COPY_DST, `${label}/uniforms`);
      const all = new Uint8Array(this.uniformBytes);
      for (const u of this.pendingUniforms) all.set(u.data, u.slot);
      this.ctx.device.queue.writeBuffer(uniforms, 0, all);
      for (const u of this.pendingUniforms) {
        const step = this.steps[u.stepIndex] as Extract<Step, { kind: 'dispatch' }>;
        step.bindGroup = this.ctx.device.createBindGroup({
          layout: u.pipeline.getBindGroupLayout(0),
          entries: [{ binding: 0, resource: { buffer: uniforms, offset: u.slot, size: u.data.byteLength } }, ...u.entries],
          label: step.label,
        });
      }
    }
    return new Program(this.ctx, label, splitSegments(this.steps), uniforms);
  }
}

/** Segments at the recorded boundaries, and before a dispatch that would take one past `budget` FLOPs. */
export function splitSegments<S extends { kind: string; cost?: DispatchCost }>(steps: S[], budget = SUBMISSION_FLOPS): S[][] {
  const segments: S[][] = [[]];
  let flops = 0;
  for (const s of steps) {
    const f = s.cost?.flops ?? 0;
    if (s.kind === 'boundary' || (f > 0 && flops > 0 && flops + f > budget)) {
      segments.push([]);
      flops = 0;
    }
    if (s.kind !== 'boundary') segments[segments.length - 1].push(s);
    flops += f;
  }
  return segments.filter((seg) => seg.length > 0);
}

export class Program {
  constructor(
    private readonly ctx: GpuContext,
    readonly label: string,
    private readonly segments: Step[][],
    private readonly uniforms: GPUBuffer | null,
  ) {}

  get dispatchCount(): number {
    return this.segments.flat().filter((s) => s.kind === 'dispatch').length;
  }

  /** Queue submissions one run makes. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Estimated FLOPs of each submission (the products' DispatchCost; other dispatches count 0). */
  get segmentFlops(): number[] {
    return this.segments.map((seg) => seg.reduce((f, s) => f + (s.kind === 'dispatch' ? s.cost?.flops ?? 0 : 0), 0));
  }

  /**
   * One run with every dispatch, copy and clear timed on its own (profile.ts): a debugging run, slower
   * than submit() (no overlap between dispatches), for where a step's GPU time goes.
   */
  async timeEachStep(clock: ProfileClock): Promise<WorkTime[]> {
    await this.ctx.device.queue.onSubmittedWorkDone();
    const work: TimedWork[] = this.segments.flat().map((s) => {
      if (s.kind === 'dispatch') {
        return {
          label: s.label, compute: true, cost: s.cost,
          encode: (enc, timestampWrites) => {
            const pass = enc.beginComputePass({ label: s.label, timestampWrites });
            pass.setPipeline(s.pipeline);
            pass.setBindGroup(0, s.bindGroup);
            pass.dispatchWorkgroups(s.grid[0], s.grid[1], s.grid[2]);
            pass.end();
          },
        };
      }
      return {
        label: s.kind, compute: false,
        encode: (enc) => {
          if (s.kind === 'copy') enc.copyBufferToBuffer(s.src, s.srcOffset, s.dst, s.dstOffset, s.size);
          else if (s.kind === 'clear') enc.clearBuffer(s.buffer, s.offset, s.size);
        },
      };
    });
    return timeEach(this.ctx, work, clock);
  }

  /** Records one segment's steps (one compute pass between copies). */
  private encodeSegment(encoder: GPUCommandEncoder, steps: Step[]): void {
    let pass: GPUComputePassEncoder | null = null;
    for (const s of steps) {
      if (s.kind === 'dispatch') {
        pass ??= encoder.beginComputePass({ label: this.label });
        pass.setPipeline(s.pipeline);
        pass.setBindGroup(0, s.bindGroup);
        pass.dispatchWorkgroups(s.grid[0], s.grid[1], s.grid[2]);
      } else if (s.kind !== 'boundary') {
        if (pass) {
          pass.end();
          pass = null;
        }
        if (s.kind === 'copy') encoder.copyBufferToBuffer(s.src, s.srcOffset, s.dst, s.dstOffset, s.size);
        else encoder.clearBuffer(s.buffer, s.offset, s.size);
      }
    }
    pass?.end();
  }

  private submitSegment(i: number): void {
    const encoder = this.ctx.device.createCommandEncoder({ label: `${this.label} [${i}]` });
    this.encodeSegment(encoder, this.segments[i]);
    this.ctx.device.queue.submit([encoder.finish()]);
  }

  /** Submits every segment at once (fastest: nothing waits between them). */
  submit(): void {
    for (let i = 0; i < this.segments.length; i++) this.submitSegment(i);
  }

  /**
   * Submits segment by segment with at most two in the queue: before segment i goes in, segment i-2
   * has finished. The GPU stays busy (one segment runs while the next waits) and whatever else is
   * submitted to the device waits for one segment, not for the whole program.
   */
  async submitPaced(): Promise<void> {
    const done: Promise<unknown>[] = [];
    for (let i = 0; i < this.segments.length; i++) {
      if (i >= 2) await done[i - 2];
      this.submitSegment(i);
      done.push(this.ctx.device.queue.onSubmittedWorkDone());
    }
  }

  /** Wall time of each segment run alone (submit, wait): what a paced run makes others wait. */
  async timeSegments(): Promise<number[]> {
    await this.ctx.device.queue.onSubmittedWorkDone();
    const ms: number[] = [];
    for (let i = 0; i < this.segments.length; i++) {
      const t0 = performance.now();
      this.submitSegment(i);
      await this.ctx.device.queue.onSubmittedWorkDone();
      ms.push(performance.now() - t0);
    }
    return ms;
  }

  destroy(): void {
    if (this.uniforms) this.ctx.destroyBuffer(this.uniforms);
  }
}

/** Records with `body`, then submits once: for one-off work (uploads that need a kernel, tests). */
export function runOnce(ctx: GpuContext, label: string, body: (rec: Recorder) => void): void {
  const rec = new Recorder(ctx);
  body(rec);
  const program = rec.finish(label);
  program.submit();
  program.destroy();
}

/** Workgroup counts for `n` workgroups laid out in 2D when one dimension is not enough. */
export function grid1d(ctx: GpuContext, workgroups: number): [number, number] {
  const limit = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (workgroups <= limit) return [workgroups, 1];
  const y = Math.ceil(workgroups / limit);
  return [Math.ceil(workgroups / y), y];
}
