// nf4_decode_f16: out = f16(NF4[code[g]] * absmax[g / qBlock]) for the flat elements g in [start, start + count)
// of an NF4 weight (a range of whole rows: start = r0 · cols, count = rows · cols), packed two halves
// per u32, little endian: output element 2i in the low half of out[i], a last odd half padded with 0.
// The product then reads `out` as an f16 weight (weight_f16.wgsl), one decode per use instead of
// 3–4 scattered reads per weight element in every tile (weight_nf4*.wgsl).
//
// Formats (uniform doubleQuant, so one pipeline serves both):
//   nf4   absmax[b] = bitcast<f32>(absmaxWords[b])
//   nf4dq absmax[b] = code8[q] * nestedAbsmax[b / qNestedBlock] + qOffset, q = byte b of absmaxWords,
//         the product rounded to f32 before the add, as bitsandbytes and src/quant/nf4.ts blockAbsmax.
// Codes: byte g/2 of the packed weight holds element g in its high nibble when g is even (bitsandbytes).
//
// Bindings: 0 params (uniform), 1 out u32 [ceil(count / 2)] (written), 2 Wq u32 [ceil(n / 8)] packed codes,
//           3 absmaxWords u32 [nBlocks] f32 bits (nf4) or [ceil(nBlocks / 4)] u8 codes (nf4dq),
//           4 nestedAbsmax f32 [ceil(nBlocks / qNestedBlock)] (nf4dq; a dummy for nf4),
//           5 code8 f32 [256] (nf4dq; a dummy for nf4).
// Dispatch: one invocation per output u32 (whole words: no two invocations write one word; consecutive
//           invocations write consecutive words), workgroups of 256, 2D grid when large.
// Numerics: the value is computed in f32 exactly as src/quant/nf4.ts dequantizes (WGSL's f32 `*` and
//           `+` are correctly rounded; zeroBits, a uniform 0 xor-ed into the product's bits, keeps a
//           compiler from contracting code8·nested + offset into an fma). It is then rounded to f16 with
//           integer operations, to nearest with ties to even, subnormals, overflow to ±Inf and signed
//           zero included: WGSL leaves the rounding of f32 → f16 conversions and pack2x16float to the
//           implementation, so neither is used.
// Checked by: test/nf4-decode-f16.test.ts, bit for bit against dequantizeNf4F16 (src/quant/nf4.ts).

struct Params {
  start: u32, count: u32, words: u32,
  qBlock: u32, qNestedBlock: u32, qOffset: f32,
  doubleQuant: u32, zeroBits: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> Wq: array<u32>;
@group(0) @binding(3) var<storage, read> absmaxWords: array<u32>;
@group(0) @binding(4) var<storage, read> nestedAbsmax: array<f32>;
@group(0) @binding(5) var<storage, read> code8: array<f32>;

fn blockAbsmax(b: u32) -> f32 {
  if (params.doubleQuant == 0u) { return bitcast<f32>(absmaxWords[b]); }
  let q = (absmaxWords[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
  let scaled = bitcast<f32>(bitcast<u32>(code8[q] * nestedAbsmax[b / params.qNestedBlock]) ^ params.zeroBits);
  return scaled + params.qOffset;
}

/** Nearest f16 bits of x, ties to even; NaN → sign | 0x7e00 (as src/formats/half.ts f32ToF16Bits). */
fn f32ToF16Bits(x: f32) -> u32 {
  let f = bitcast<u32>(x);
  let sign = (f >> 16u) & 0x8000u;
  let e = (f >> 23u) & 0xffu;
  let m = f & 0x7fffffu;
  if (e == 0xffu) { return sign | select(0x7e00u, 0x7c00u, m == 0u); }
  let he = i32(e) - 112; // the f16 exponent field: e - 127 + 15
  if (he >= 31) { return sign | 0x7c00u; } // >= 2^16: beyond 65504 even after rounding
  if (he <= 0) {
    // Subnormal f16: the significand (implicit 1 included) shifted down to units of 2^-24.
    let shift = u32(14 - he);
    if (shift > 24u) { return sign; } // below 2^-25 (f32 subnormals included): rounds to ±0
    let s = m | 0x800000u;
    var h = s >> shift;
    let rest = s & ((1u << shift) - 1u);
    let halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (h & 1u) == 1u)) { h += 1u; } // may carry into the smallest normal: correct
    return sign | h;
  }
  var h = (u32(he) << 10u) | (m >> 13u);
  let rest = m & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) { h += 1u; } // a carry into the exponent (even into Inf) is correct
  return sign | h;
}

/** f16 bits of local element j (0 past the range). */
fn halfBits(j: u32) -> u32 {
  if (j >= params.count) { return 0u; }
  let g = params.start + j;
  return f32ToF16Bits(NF4[nf4Code(g)] * blockAbsmax(g / params.qBlock));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + li;
  if (i >= params.words) { return; }
  out[i] = halfBits(2u * i) | (halfBits(2u * i + 1u) << 16u);
}
