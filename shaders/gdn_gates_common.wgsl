// gdn_gates_common (snippet, prepended to gdn_gates_{fwd,bwd}): the parameter block, the input bindings and
// the shared terms. a, b f32 [rows, Hv] (in_proj_a / in_proj_b outputs) at bindings 1, 2; aLog, dtBias f32 [Hv] at 3, 4.
struct Params { rows: u32, Hv: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> aLog: array<f32>;
@group(0) @binding(4) var<storage, read> dtBias: array<f32>;

fn sigmoid(u: f32) -> f32 { return 1.0 / (1.0 + exp(-u)); }
/** softplus' argument a + dt_bias of element idx (head idx % Hv). */
fn softplusArg(idx: u32) -> f32 { return a[idx] + dtBias[idx % params.Hv]; }
