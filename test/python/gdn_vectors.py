"""Writes test/fixtures/gdn-transformers.json: transformers' gated delta rule on a small input, so the Node test
(test/gated-delta-rule.test.ts) checks src/ref/gated-delta-rule.ts against transformers without Python.

Run: python test/python/gdn_vectors.py  (transformers >= 5.18 with Qwen3.5, torch; CPU). What it does:
  - q, k [B, T, Hk, dk], L2-normalised in float64 then rounded to float32 (the reference's inputs are these
    float32 values); v [B, T, Hv, dv]; g = log decay, slow on even value heads (the state crosses the 64-token
    chunk boundary) and fast on odd ones; beta in (0, 1).
  - key heads repeated over value heads with repeat_interleave, as Qwen3_5GatedDeltaNet.forward does, then
    torch_chunk_gated_delta_rule (chunk 64) and torch_recurrent_gated_delta_rule, both with the final state.
    Both compute in float32 whatever the input dtype (their casts), so they agree with a float64 reference
    to about 1e-6.
"""
import json
import os

import torch
import transformers
from transformers.models.qwen3_5 import modeling_qwen3_5 as m

B, T, HK, HV, DK, DV = 1, 67, 2, 4, 6, 4
g = torch.Generator().manual_seed(0)


def f32(x):
    return x.to(torch.float32).to(torch.float64)


q = torch.randn(B, T, HK, DK, generator=g, dtype=torch.float64)
k = torch.randn(B, T, HK, DK, generator=g, dtype=torch.float64)
q = f32(q / q.norm(dim=-1, keepdim=True))
k = f32(k / k.norm(dim=-1, keepdim=True))
v = f32(torch.randn(B, T, HV, DV, generator=g, dtype=torch.float64))
u = torch.rand(B, T, HV, generator=g, dtype=torch.float64)
slow = torch.log(torch.tensor(0.95)) + u * (torch.log(torch.tensor(0.999)) - torch.log(torch.tensor(0.95)))
fast = torch.log(torch.tensor(0.02)) + u * (torch.log(torch.tensor(0.99)) - torch.log(torch.tensor(0.02)))
decay = f32(torch.where(torch.arange(HV) % 2 == 0, slow, fast))
beta = f32(0.05 + 0.9 * torch.rand(B, T, HV, generator=g, dtype=torch.float64))

r = HV // HK
qr, kr = q.repeat_interleave(r, dim=2), k.repeat_interleave(r, dim=2)
o_chunk, s_chunk = m.torch_chunk_gated_delta_rule(qr, kr, v, g=decay, beta=beta, chunk_size=64, output_final_state=True)
o_rec, s_rec = m.torch_recurrent_gated_delta_rule(qr, kr, v, g=decay, beta=beta, output_final_state=True)
assert (o_chunk - o_rec).abs().max() < 1e-5, "transformers' chunked and recurrent forms disagree"


def flat(x):
    return [float(f"{float(e):.9g}") for e in x.reshape(-1).tolist()]


out = {
    "about": "transformers torch_chunk_gated_delta_rule (chunk 64) on q, k already L2-normalised (Hk heads, "
    "repeat_interleave over Hv value heads), scale 1/sqrt(dk); made by test/python/gdn_vectors.py",
    "transformers": transformers.__version__,
    "shape": {"B": B, "T": T, "Hk": HK, "Hv": HV, "dk": DK, "dv": DV},
    "scale": DK ** -0.5,
    "q": flat(q), "k": flat(k), "v": flat(v), "g": flat(decay), "beta": flat(beta),
    "o": flat(o_chunk), "finalState": flat(s_chunk),
    "oRecurrent": flat(o_rec), "finalStateRecurrent": flat(s_rec),
}
path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "gdn-transformers.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {os.path.normpath(path)}: max |chunk - recurrent| = {(o_chunk - o_rec).abs().max():.2e}")
