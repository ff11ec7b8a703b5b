// The only difference between the two subgroup-matrix back ends: how operand tiles are declared and
// written, and the three matrix primitives (load, multiply-accumulate, store). The tile walk
// (subgroup-matrix.ts) calls these by the same arguments Dawn's builtins take — pointer, element
// offset, majorness, stride — so the emulated one exercises the real one's addressing.
//   hardware  f16 tiles; subgroupMatrixLoad / subgroupMatrixMultiplyAccumulate / subgroupMatrixStore
//             (chromium_experimental_subgroup_matrix); lane layout decided by the driver. Majorness is a
//             template parameter (`subgroupMatrixLoad<T, row_major>(p, offset, stride)`): the bool argument
//             form is deprecated in the Dawn of npm `webgpu` 0.6.x, whose Tint knows `core::Majorness`.
//   emulated  tiles of f16 pairs packed in u32 (pack2x16float: each operand rounded to f16 and back),
//             a left/right "fragment" is the (offset, stride) view its load was given — the tile does not
//             change until the walk's next barrier, as the hardware load would have read it — and each
//             invocation of an emulated subgroup of SG lanes owns result elements e·SG + lane (row-major
//             in the fragment), accumulating its share of every multiply in f32 along K in order.
// Checked by: test/gemm.test.ts (emulated against refMatmul on f16-rounded operands; hardware: source
// structure, and execution where the adapter has the feature).
import type { GemmVariant } from './config';

export interface SubgroupMatrixPrimitives {
  /** Multiply over named fragments and accumulators (hardware), or loops over arrays (the emulation, whose
   *  every emuMma call site SwiftShader inlines: unrolled, its 128 tile took minutes to build). */
  readonly unrolled: boolean;
  /** Module directives (must open the module). */
  readonly directives: string;
  /** Workgroup declarations of As (left tile, `tileA` elements), Bs (right, `tileB`), Cs (f32 staging, `stage`). */
  decls(tileA: number, tileB: number, stage: number): string;
  /** Entry-point builtins beyond workgroup_id / local_invocation_index, and the lines that set `sg`. */
  readonly entryArgs: string;
  readonly prologue: string;
  /** Writes tile elements 2p and 2p + 1 (an adjacent pair along k) of As or Bs. */
  storePair(tile: 'As' | 'Bs', p: string, lo: string, hi: string): string;
  readonly leftType: string;
  readonly rightType: string;
  readonly accType: string;
  loadLeft(offset: string, stride: string): string; // row-major view of As
  loadRight(offset: string, stride: string): string; // column-major view of Bs
  mma(left: string, right: string, acc: string): string;
  store(offset: string, acc: string, stride: string): string; // row-major into Cs (a statement)
  storeGlobal(offset: string, acc: string, stride: string): string; // row-major straight into C (a statement)
}

export function hardwarePrimitives(v: GemmVariant): SubgroupMatrixPrimitives {
  const { M, N, K } = v.frag;
  const L = `subgroup_matrix_left<f16, ${K}, ${M}>`;
  const R = `subgroup_matrix_right<f16, ${N}, ${K}>`;
  const Acc = `subgroup_matrix_result<f32, ${N}, ${M}>`;
  return {
    // Uniformity: the walk guards the fragments with `sg < SUBGROUPS` (a subgroup-uniform condition the
    // workgroup-scope analysis cannot prove), as llama.cpp's ggml-webgpu does.
    unrolled: true,
    directives: 'diagnostic(off, chromium.subgroup_matrix_uniformity);\nenable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;\n',
    decls: (a, b, s) =>
      `var<workgroup> As: array<f16, ${a}>;\nvar<workgroup> Bs: array<f16, ${b}>;\nvar<workgroup> Cs: array<f32, ${s}>;`,
    entryArgs: '@builtin(subgroup_id) subgroupId: u32',
    prologue: 'let sg = subgroupId;',
    storePair: (t, p, lo, hi) => `${t}[2u * ${p}] = f16(${lo}); ${t}[2u * ${p} + 1u] = f16(${hi});`,
    leftType: L,
    rightType: R,
    accType: Acc,
    loadLeft: (o, s) => `subgroupMatrixLoad<${L}, row_major>(&As, ${o}, ${s})`,
    loadRight: (o, s) => `subgroupMatrixLoad<${R}, col_major>(&Bs, ${o}, ${s})`,
    mma: (l, r, a) => `subgroupMatrixMultiplyAccumulate(${l}, ${r}, ${a})`,
    store: (o, a, s) => `subgroupMatrixStore<row_major>(&Cs, ${o}, ${a}, ${s});`,
    storeGlobal: (o, a, s) => `subgroupMatrixStore<row_major>(&C, ${o}, ${a}, ${s});`,
  };
}

export function emulatedPrimitives(v: GemmVariant): SubgroupMatrixPrimitives {
  const { M, N, K } = v.frag;
  const SG = v.subgroupSize;
  const share = (M * N) / SG;
  if (!Number.isInteger(share)) throw new Error(`emulated subgroup matrix: ${M}x${N} fragment over ${SG} lanes`);
  return {
    unrolled: false,
    directives: '',
    decls: (a, b, s) => /* wgsl */ `
var<workgroup> As: array<u32, ${a / 2}>; // f16 pairs
var<workgroup> Bs: array<u32, ${b / 2}>;
var<workgroup> Cs: array<f32, ${s}>;
var<private> emuLane: u32;
struct EmuView { offset: u32, stride: u32 } // a loaded left/right fragment: where it lies in its tile
alias EmuAcc = array<f32, ${share}>; // this lane's elements e·${SG} + lane of the ${M}×${N} result
fn emuAs(i: u32) -> f32 { return unpack2x16float(As[i >> 1u])[i & 1u]; }
fn emuBs(i: u32) -> f32 { return unpack2x16float(Bs[i >> 1u])[i & 1u]; }
// left [r, c] at offset + stride·r + c (row-major); right [r, c] at offset + stride·c + r (column-major).
fn emuMma(l: EmuView, r: EmuView, acc: EmuAcc) -> EmuAcc {
  var out = acc;
  for (var e = 0u; e < ${share}u; e++) {
    let idx = e * ${SG}u + emuLane;
    let row = idx / ${N}u;
    let col = idx % ${N}u;
    var s = out[e];
    for (var k = 0u; k < ${K}u; k++) {
      s = s + emuAs(l.offset + l.stride * row + k) * emuBs(r.offset + r.stride * col + k);
    }
    out[e] = s;
  }
  return out;
}
fn emuStore(offset: u32, acc: EmuAcc, stride: u32) {
  for (var e = 0u; e < ${share}u; e++) {
    let idx = e * ${SG}u + emuLane;
    Cs[offset + stride * (idx / ${N}u) + idx % ${N}u] = acc[e];
  }
}
`,
    entryArgs: '',
    prologue: `let sg = li / ${SG}u; emuLane = li % ${SG}u;`,
    storePair: (t, p, lo, hi) => `${t}[${p}] = pack2x16float(vec2f(${lo}, ${hi}));`,
    leftType: 'EmuView',
    rightType: 'EmuView',
    accType: 'EmuAcc',
    loadLeft: (o, s) => `EmuView(${o}, ${s})`,
    loadRight: (o, s) => `EmuView(${o}, ${s})`,
    mma: (l, r, a) => `emuMma(${l}, ${r}, ${a})`,
    store: (o, a, s) => `emuStore(${o}, ${a}, ${s});`,
    // Inline, not a function taking the lane's array by value: SwiftShader took minutes to build that form.
    storeGlobal: (o, a, s) => `for (var e = 0u; e < ${share}u; e++) { let idx = e * ${SG}u + emuLane; C[${o} + ${s} * (idx / ${N}u) + idx % ${N}u] = ${a}[e]; }`,
  };
}
