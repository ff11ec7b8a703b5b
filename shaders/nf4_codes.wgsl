// NF4 code snippet, shared by the weight-format snippets (weight_nf4.wgsl, weight_nf4dq.wgsl) and the
// decode kernel (nf4_decode_f16.wgsl), each of which declares `Wq: array<u32>`, the packed codes.
// NF4: the 16 levels of bitsandbytes' NormalFloat4 (as f32, its table). nf4Code(i): byte i/2 of the
// packed codes holds element i in its high nibble when i is even, low nibble when odd; bytes are read
// four to a u32 (little endian). Checked by test/nf4-decode-f16.test.ts and the NF4 cases of
// test/matmul.test.ts / test/gemm.test.ts against src/quant/nf4.ts.
const NF4 = array<f32, 16>(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0);
fn nf4Code(i: u32) -> u32 {
  let byte = (Wq[i >> 3u] >> (((i >> 1u) & 3u) * 8u)) & 0xffu;
  return select(byte >> 4u, byte & 15u, (i & 1u) == 1u);
}
