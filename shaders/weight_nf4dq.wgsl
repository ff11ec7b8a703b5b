// Weight-format snippet: NF4 with double-quantized absmax (bitsandbytes compress_statistics=True).
// absmax[b] = code8[absmaxCodes[b]] * nestedAbsmax[b / qNestedBlock] + qOffset, in f32 as bitsandbytes
// computes it; value = NF4[code] * absmax[i / qBlock]. Codes as in weight_nf4.wgsl; the u8 absmax codes
// are packed four to a u32. Checked by test/nf4-matmul.test.ts against src/quant/nf4.ts.
@group(0) @binding(4) var<storage, read> Wq: array<u32>;
@group(0) @binding(5) var<storage, read> absmaxCodes: array<u32>;
@group(0) @binding(6) var<storage, read> nestedAbsmax: array<f32>;
@group(0) @binding(7) var<storage, read> code8: array<f32>;
const NF4 = array<f32, 16>(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0);
fn nf4Code(i: u32) -> u32 {
  let byte = (Wq[i >> 3u] >> (((i >> 1u) & 3u) * 8u)) & 0xffu;
  return select(byte >> 4u, byte & 15u, (i & 1u) == 1u);
}
fn blockAbsmax(b: u32) -> f32 {
  let q = (absmaxCodes[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
  return code8[q] * nestedAbsmax[b / params.qNestedBlock] + params.qOffset;
}
fn weight(r: u32, c: u32) -> f32 {
  let i = r * params.wCols + c;
  return NF4[nf4Code(i)] * blockAbsmax(i / params.qBlock);
}
