// attention_softcap (snippet, prepended to attention_fwd / _bwd_dq / _bwd_dkv): a scaled score s and its
// soft cap: s' = cap·tanh(s / cap) (Gemma's attn_logit_softcapping) and ds'/ds = 1 − (s' / cap)²;
// cap 0 leaves s as it is (slope 1). s / cap is clamped to ±15, where tanh is ±1 in f32.
fn softcapScore(s: f32, cap: f32) -> vec2f {
  if (cap <= 0.0) { return vec2f(s, 1.0); }
  let y = tanh(clamp(s / cap, -15.0, 15.0));
  return vec2f(cap * y, 1.0 - y * y);
}
