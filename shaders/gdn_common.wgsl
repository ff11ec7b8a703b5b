// gdn_common (snippet, prepended to gdn_{chunk,state}_{fwd,bwd}): the parameter block and the buffer
// layouts the four gated-delta-rule kernels share (src/gpu/ops/gated-delta-rule.ts computes the same offsets).
//   qkv   f32 [B, T, stride]: q at column hk·dk, k at Hk·dk + hk·dk, v at 2·Hk·dk + h·dv (the conv output's order)
//   gb    f32 [2, B, T, Hv]: g (log decay, ≤ 0) then beta
//   work  f32 scratch: gam [B, Hv, T] (γ, g summed within the chunk) | uw [B, Hv, T, dv + dk] (U | W of the chunk's
//         triangular solve) | mats [B, Hv, N, 3, C, C] (P, L, and a third matrix for the backward) |
//         dstates [B, Hv, N, dk, dv] | dvn [B, T, Hv, dv] | xs [B, Hv, T, dv + dk]  (the last three: backward only)
//   saved f32 [B, Hv, N + 1, dk, dv] states at chunk starts (N: the final state) | vnew [B, T, Hv, dv]
// Value head h reads key head h / (Hv / Hk) (transformers' repeat_interleave).
struct Params {
  B: u32, T: u32, Hk: u32, Hv: u32,
  dk: u32, dv: u32, stride: u32, N: u32,
  C: u32, initial: u32, scale: f32, offUW: u32,
  offMats: u32, offDS: u32, offDV: u32, offX: u32,
  offVnew: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> P: Params;

const WG = 64u;
const MAX_C = 64u;

fn keyHead(h: u32) -> u32 { return h / (P.Hv / P.Hk); }
fn qAt(b: u32, t: u32, h: u32) -> u32 { return (b * P.T + t) * P.stride + keyHead(h) * P.dk; }
fn kAt(b: u32, t: u32, h: u32) -> u32 { return (b * P.T + t) * P.stride + (P.Hk + keyHead(h)) * P.dk; }
fn vAt(b: u32, t: u32, h: u32) -> u32 { return (b * P.T + t) * P.stride + 2u * P.Hk * P.dk + h * P.dv; }
fn gAt(b: u32, t: u32, h: u32) -> u32 { return (b * P.T + t) * P.Hv + h; }
fn betaAt(b: u32, t: u32, h: u32) -> u32 { return P.B * P.T * P.Hv + gAt(b, t, h); }
fn gamAt(b: u32, h: u32, t: u32) -> u32 { return (b * P.Hv + h) * P.T + t; }
fn uwAt(b: u32, h: u32, t: u32) -> u32 { return P.offUW + ((b * P.Hv + h) * P.T + t) * (P.dv + P.dk); }
fn xsAt(b: u32, h: u32, t: u32) -> u32 { return P.offX + ((b * P.Hv + h) * P.T + t) * (P.dv + P.dk); }
/** Matrix m (0 P, 1 L, 2 the backward's) of chunk c, row t, column s. */
fn matAt(b: u32, h: u32, c: u32, m: u32, t: u32, s: u32) -> u32 {
  return P.offMats + ((((b * P.Hv + h) * P.N + c) * 3u + m) * P.C + t) * P.C + s;
}
fn stateAt(b: u32, h: u32, c: u32) -> u32 { return ((b * P.Hv + h) * (P.N + 1u) + c) * P.dk * P.dv; }
fn dstateAt(b: u32, h: u32, c: u32) -> u32 { return P.offDS + ((b * P.Hv + h) * P.N + c) * P.dk * P.dv; }
/** [B, T, Hv, dv] rows: o, do, and (plus offVnew / offDV) vnew, dvn. */
fn rowAt(b: u32, t: u32, h: u32) -> u32 { return ((b * P.T + t) * P.Hv + h) * P.dv; }
fn chunkLen(c: u32) -> u32 { return min(P.C, P.T - c * P.C); }
/** The state kernels' thread: (b, h, j) for value column j of head h, and whether it exists (x = 1 then). */
fn columnThread(wid: vec3u, nwg: vec3u, li: u32) -> vec4u {
  let idx = (wid.x + wid.y * nwg.x) * WG + li;
  return vec4u(u32(idx < P.B * P.Hv * P.dv), idx / (P.dv * P.Hv), (idx / P.dv) % P.Hv, idx % P.dv);
}
