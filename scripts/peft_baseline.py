"""PyTorch + PEFT LoRA training throughput on random-init models shaped like real ones: the speed a
user would get from the reference stack on the same GPU (bf16 base, SDPA attention, fused AdamW).
usage (on a CUDA machine with torch, transformers, peft):
  python3 peft_baseline.py [SHAPE ...]          # every shape: batch 1 and 8 x 512 all-linear, 8 x 512 q,v
  CONFIGS=8x512 STEPS=5 python3 peft_baseline.py qwen2.5-0.5b llama3.2-1b    # a quick subset
Prints one JSON line per configuration (tok_s, step_ms, peak_gib); writes $OUT/peft_baseline.json."""
import json, os, sys, time, torch
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM,
                          Gemma3TextConfig, Gemma3ForCausalLM, Qwen3_5TextConfig, Qwen3_5ForCausalLM)
from peft import LoraConfig, get_peft_model

QWEN35 = dict(num_hidden_layers=24, num_attention_heads=8, num_key_value_heads=2, head_dim=256, linear_num_key_heads=16, linear_num_value_heads=16,
              linear_key_head_dim=128, linear_value_head_dim=128, linear_conv_kernel_dim=4, vocab_size=248320, tie_word_embeddings=True,
              rope_parameters=dict(rope_type="default", rope_theta=10000000.0, partial_rotary_factor=0.25), max_position_embeddings=262144)
SHAPES = {
  "smollm2-135m": (LlamaConfig, LlamaForCausalLM, dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True, rope_theta=100000.0, max_position_embeddings=8192)),
  "qwen2.5-0.5b": (Qwen2Config, Qwen2ForCausalLM, dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, rope_theta=1000000.0, max_position_embeddings=32768)),
  "llama3.2-1b": (LlamaConfig, LlamaForCausalLM, dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=True, rope_theta=500000.0, max_position_embeddings=131072)),
  "qwen3-0.6b": (Qwen3Config, Qwen3ForCausalLM, dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=True, rope_theta=1000000.0, max_position_embeddings=40960)),
  "gemma3-270m": (Gemma3TextConfig, Gemma3ForCausalLM, dict(hidden_size=640, intermediate_size=2048, num_hidden_layers=18, num_attention_heads=4, num_key_value_heads=1, head_dim=256, query_pre_attn_scalar=256, sliding_window=512, vocab_size=262144, tie_word_embeddings=True, max_position_embeddings=32768)),
  # Qwen3.5's text model, as src/bench/shapes.ts (the model cards and the released text_config; tie_word_embeddings
  # is given because Qwen3_5TextConfig's default is False, rope_theta because its default is 1e4).
  "qwen3.5-0.8b": (Qwen3_5TextConfig, Qwen3_5ForCausalLM, dict(hidden_size=1024, intermediate_size=3584, **QWEN35)),
  "qwen3.5-2b": (Qwen3_5TextConfig, Qwen3_5ForCausalLM, dict(hidden_size=2048, intermediate_size=6144, **QWEN35)),
  "llama3-8b": (LlamaConfig, LlamaForCausalLM, dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=False, rope_theta=500000.0, max_position_embeddings=8192)),
}
ALL = ["q_proj","k_proj","v_proj","o_proj","gate_proj","up_proj","down_proj"]
# Qwen3.5's linear-attention layers add these (PEFT matches module names, so "all" covers both layer kinds there).
GDN = ["in_proj_qkv","in_proj_z","in_proj_b","in_proj_a","out_proj"]

def run(name, batch, seq, targets, r=16, ckpt=False, steps=10, attn="sdpa"):
    C, M, kw = SHAPES[name]
    torch.manual_seed(0)
    cfg = C(**kw, attn_implementation=attn)
    model = M(cfg).to(torch.bfloat16).cuda()
    model = get_peft_model(model, LoraConfig(r=r, lora_alpha=2*r, target_modules=targets, lora_dropout=0.0, task_type="CAUSAL_LM"))
    if ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False}); model.enable_input_require_grads()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, fused=True)
    ids = torch.randint(0, cfg.vocab_size, (batch, seq), device="cuda")
    torch.cuda.reset_peak_memory_stats()
    def step():
        out = model(input_ids=ids, labels=ids)
        out.loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    for _ in range(3): step()
    torch.cuda.synchronize(); t0 = time.perf_counter()
    for _ in range(steps): step()
    torch.cuda.synchronize(); dt = (time.perf_counter() - t0) / steps
    res = dict(model=name, batch=batch, seq=seq, r=r, targets="all" if targets in (ALL, ALL + GDN) else ",".join(targets), ckpt=ckpt,
               step_ms=round(dt*1e3, 2), tok_s=round(batch*seq/dt), peak_gib=round(torch.cuda.max_memory_allocated()/2**30, 2))
    print(json.dumps(res), flush=True)
    del model, opt; torch.cuda.empty_cache()
    return res

if __name__ == "__main__":
    out = []
    steps = int(os.environ.get("STEPS", "10"))
    configs = [tuple(int(x) for x in c.split("x")) for c in os.environ.get("CONFIGS", "1x512,8x512").split(",")]
    for name in sys.argv[1:] or list(SHAPES):
        every = ALL + GDN if SHAPES[name][0] is Qwen3_5TextConfig else ALL
        for batch, seq in configs:
            out.append(run(name, batch, seq, every, steps=steps))
        if "CONFIGS" not in os.environ: out.append(run(name, 8, 512, ["q_proj","v_proj"], steps=steps))
    with open(os.path.join(os.environ.get("OUT", "/tmp"), "peft_baseline.json"), "w") as f: json.dump(out, f, indent=1)
