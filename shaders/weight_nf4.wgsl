// Weight-format snippet: NF4 (bitsandbytes layout) with a float32 absmax per qBlock elements.
// The codes are read by nf4Code (nf4_codes.wgsl, prepended by src/gpu/shaders.ts). Value = NF4[code] * absmax[i / qBlock] in f32, as in
// bitsandbytes' dequantize kernel. Checked by test/matmul.test.ts and test/gemm.test.ts against src/quant/nf4.ts.
@group(0) @binding(4) var<storage, read> Wq: array<u32>;
@group(0) @binding(5) var<storage, read> absmax: array<f32>;
fn weight(r: u32, c: u32) -> f32 {
  let i = r * params.wCols + c;
  return NF4[nf4Code(i)] * absmax[i / params.qBlock];
}
