// What the two tensor-core backward kernels (bwd-dq.ts, bwd-dkv.ts) share with each other and with
// shaders/attention_bwd_*.wgsl: the uniform block, bindings 0..6, and the zero-filling element reads of
// one (b, hk) block (rows are the (t, g) pairs of the GQA group, t-major: row = t·group + g).
export const BWD_PRELUDE = /* wgsl */ `
struct Params { B: u32, T: u32, H: u32, Hkv: u32, d: u32, scale: f32, window: u32, softcap: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> Dsum: array<f32>;

var<private> gB: u32;
var<private> gHk: u32;
var<private> gGroup: u32;
var<private> gRows: u32; // rows read (all rows, or the end of the dK/dV kernel's band)
var<private> gKeys: u32; // keys read

fn setBlock(b: u32, hk: u32, group: u32, rows: u32, keys: u32) {
  gB = b;
  gHk = hk;
  gGroup = group;
  gRows = rows;
  gKeys = keys;
}
/** Element i of row rr of q (useQ) or dO; 0 past the rows or head_dim. */
fn rowVal(useQ: bool, rr: u32, i: u32) -> f32 {
  if (rr >= gRows || i >= params.d) { return 0.0; }
  let at = (gB * params.T + rr / gGroup) * params.H * params.d + (gHk * gGroup + rr % gGroup) * params.d + i;
  if (useQ) { return q[at]; }
  return dO[at];
}
/** Element i of key j of k (useK) or v; 0 past the keys or head_dim. */
fn keyVal(useK: bool, j: u32, i: u32) -> f32 {
  if (j >= gKeys || i >= params.d) { return 0.0; }
  let at = (gB * params.T + j) * params.Hkv * params.d + gHk * params.d + i;
  if (useK) { return k[at]; }
  return v[at];
}
/** Index of row rr's LSE and Dsum ([B, H, T]). */
fn rowStat(rr: u32) -> u32 {
  return (gB * params.H + gHk * gGroup + rr % gGroup) * params.T + rr / gGroup;
}
`;
