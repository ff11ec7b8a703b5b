// Weight-format snippet: NF4 with double-quantized absmax (bitsandbytes compress_statistics=True).
// absmax[b] = code8[absmaxCodes[b]] * nestedAbsmax[b / qNestedBlock] + qOffset, in f32 as bitsandbytes
// computes it; value = NF4[code] * absmax[i / qBlock]. Codes read by nf4Code (nf4_codes.wgsl, prepended); the u8 absmax codes
// are packed four to a u32. Checked by test/matmul.test.ts and test/gemm.test.ts against src/quant/nf4.ts.
@group(0) @binding(4) var<storage, read> Wq: array<u32>;
@group(0) @binding(5) var<storage, read> absmaxCodes: array<u32>;
@group(0) @binding(6) var<storage, read> nestedAbsmax: array<f32>;
@group(0) @binding(7) var<storage, read> code8: array<f32>;
fn blockAbsmax(b: u32) -> f32 {
  let q = (absmaxCodes[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
  return code8[q] * nestedAbsmax[b / params.qNestedBlock] + params.qOffset;
}
fn weight(r: u32, c: u32) -> f32 {
  let i = r * params.wCols + c;
  return NF4[nf4Code(i)] * blockAbsmax(i / params.qBlock);
}
