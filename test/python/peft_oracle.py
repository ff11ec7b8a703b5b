"""The real consumers of our files, as a test oracle (test/interop-python.test.ts runs this).

Reads one JSON job from stdin and prints one JSON result: what transformers + PEFT make of an adapter,
a merged model or a batch of examples that the TypeScript side produced. Every check computes in float64
on the CPU, so the result is the reference, not another float32 run.

Jobs:
  {"job": "peft_loss", "base": DIR, "adapter": DIR, "examples": [{"input_ids": [...], "labels": [...]}]}
      PeftModel.from_pretrained on the base (a bitsandbytes 4-bit checkpoint is dequantized here exactly
      as bitsandbytes would, NF4 + double quant), with every warning recorded; the adapter's keys
      against the model's LoRA keys; the mean loss over the examples' labels (!= -100, causal shift).
  {"job": "auto_peft", "adapter": DIR, "cwd": DIR, "examples": [...]}
      AutoPeftModelForCausalLM.from_pretrained(adapter) from another working directory, and its loss.
  {"job": "peft_adapter", "base": DIR, "out": DIR, "lora": {LoraConfig fields}, "dtype": "float32"|"bfloat16",
   "examples": [...], "prompt_ids": [...], "new_tokens": N}
      An adapter made by PEFT itself (random non-zero A and B, as after training), saved with
      save_pretrained in that dtype; its mean loss over the examples and N greedy ids after the prompt.
  {"job": "trl_script", "script": FILE, "cwd": DIR}
      Runs the exported PEFT + TRL training script (its own settings, in cwd) and returns the rows
      SFTTrainer trains on (input_ids, labels) and its logged losses.
  {"job": "script_data", "script": FILE, "cwd": DIR}
      The exported script's load_data() alone (its reading, column mapping and skipped rows): the rows.
  {"job": "merged_logits", "merged": DIR, "base": DIR, "adapter": DIR, "input_ids": [[...]]}
      AutoModelForCausalLM on the merged export, against merge_and_unload() of base + adapter cast to the
      export's dtype: the largest weight and logit differences.
"""

import json
import os
import sys
import warnings
import logging

import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM

torch.set_default_dtype(torch.float64)
logging.getLogger("transformers").setLevel(logging.ERROR)  # keep stdout for the result; warnings are caught


def dequantize_bnb_nf4(tensors, name):
    """W from bitsandbytes' 4-bit serialization (NF4, blocks of 64, double-quantized absmax)."""
    packed = tensors[name].flatten().to(torch.int64)
    state = json.loads(bytes(tensors[name + ".quant_state.bitsandbytes__nf4"].tolist()).decode())
    codes = torch.stack([packed >> 4, packed & 15], dim=1).flatten()  # the even element in the high nibble
    quant_map = tensors[name + ".quant_map"].to(torch.float32)
    absmax_codes = tensors[name + ".absmax"].to(torch.int64)
    nested_absmax = tensors[name + ".nested_absmax"].to(torch.float32)
    nested_map = tensors[name + ".nested_quant_map"].to(torch.float32)
    nested_block = state["nested_blocksize"]
    idx = torch.arange(absmax_codes.numel()) // nested_block
    # bitsandbytes dequantizes in float32: absmax = code8[q] * nested_absmax + offset, then w = nf4[c] * absmax.
    absmax = nested_map[absmax_codes] * nested_absmax[idx] + torch.tensor(state["nested_offset"], dtype=torch.float32)
    n = 1
    for d in state["shape"]:
        n *= d
    block = state["blocksize"]
    values = quant_map[codes[:n]] * absmax.repeat_interleave(block)[:n]
    return values.reshape(state["shape"])


def load_base(path):
    config = AutoConfig.from_pretrained(path)
    if getattr(config, "quantization_config", None) is None:
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float64)
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float64)
    tensors = load_file(os.path.join(path, "model.safetensors"))
    state = {}
    for name, t in tensors.items():
        if name.endswith(".quant_state.bitsandbytes__nf4"):
            w = name[: -len(".quant_state.bitsandbytes__nf4")]
            state[w] = dequantize_bnb_nf4(tensors, w).to(torch.float64)
        elif not any(name.endswith(s) for s in (".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map")) and name not in state:
            if t.dtype != torch.uint8:
                state[name] = t.to(torch.float64)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise SystemExit(f"dequantized checkpoint does not fit the model: missing {missing}, unexpected {unexpected}")
    if config.tie_word_embeddings:
        model.tie_weights()
    return model


def mean_loss(model, examples):
    total, count = 0.0, 0
    with torch.no_grad():
        for e in examples:
            ids = torch.tensor([e["input_ids"]])
            labels = torch.tensor([e["labels"]])
            logits = model(input_ids=ids).logits[0, :-1].to(torch.float64)
            target = labels[0, 1:]
            keep = target != -100
            loss = torch.nn.functional.cross_entropy(logits[keep], target[keep], reduction="sum")
            total += loss.item()
            count += int(keep.sum())
    return total / count, count


def caught(fn):
    """fn() with every Python warning and every PEFT/transformers log record at WARNING or above."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Keep(level=logging.WARNING)
    loggers = [logging.getLogger(n) for n in ("peft", "transformers")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = fn()
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
    return out, [str(x.message) for x in w] + records


def peft_loss(job):
    from peft import PeftModel
    from peft.utils import get_peft_model_state_dict

    base = load_base(job["base"])
    model, messages = caught(lambda: PeftModel.from_pretrained(base, job["adapter"]))
    model.eval()
    file_keys = set(load_file(os.path.join(job["adapter"], "adapter_model.safetensors")).keys())
    model_keys = set(get_peft_model_state_dict(model).keys())
    loss, tokens = mean_loss(model, job["examples"])
    return {
        "loss": loss,
        "tokens": tokens,
        "warnings": [m for m in messages if "key" in m.lower() or "adapter" in m.lower()],
        "missing": sorted(model_keys - file_keys),
        "unexpected": sorted(file_keys - model_keys),
    }


def auto_peft(job):
    from peft import AutoPeftModelForCausalLM

    adapter = os.path.abspath(job["adapter"])
    os.chdir(job["cwd"])
    model = AutoPeftModelForCausalLM.from_pretrained(adapter, dtype=torch.float64)
    model.eval()
    loss, tokens = mean_loss(model, job["examples"])
    return {"loss": loss, "tokens": tokens}


def greedy(model, prompt_ids, n):
    ids = torch.tensor([prompt_ids])
    with torch.no_grad():
        for _ in range(n):
            nxt = model(input_ids=ids).logits[0, -1].argmax()
            ids = torch.cat([ids, nxt.view(1, 1)], dim=1)
    return ids[0, len(prompt_ids):].tolist()


def peft_adapter(job):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    base = load_base(job["base"])
    # init_lora_weights=False: A and B both random, so the adapter changes the model as a trained one does.
    config = LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, **job["lora"])
    model = get_peft_model(base, config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.mul_(0.5)
    dtype = getattr(torch, job["dtype"])
    # Save in the requested dtype; evaluate with exactly the saved values (rounded, then widened to float64).
    for name, p in model.named_parameters():
        if "lora_" in name:
            p.data = p.data.to(dtype).to(torch.float64)
    model.save_pretrained(job["out"])
    if dtype != torch.float64:
        from safetensors.torch import save_file

        path = os.path.join(job["out"], "adapter_model.safetensors")
        save_file({k: v.to(dtype) for k, v in load_file(path).items()}, path)
    model.eval()
    loss, tokens = mean_loss(model, job["examples"])
    return {"loss": loss, "tokens": tokens, "greedy_ids": greedy(model, job["prompt_ids"], job["new_tokens"])}


def trl_script(job):
    import runpy
    import trl

    captured = {}
    real_train = trl.SFTTrainer.train

    def train(self, *args, **kwargs):
        captured["columns"] = list(self.train_dataset.column_names)
        captured["rows"] = [{"input_ids": list(r["input_ids"]), "labels": list(r["labels"]) if "labels" in r else None} for r in self.train_dataset]
        out = real_train(self, *args, **kwargs)
        captured["losses"] = [h["loss"] for h in self.state.log_history if "loss" in h]
        return out

    trl.SFTTrainer.train = train
    torch.set_default_dtype(torch.float32)  # the script runs as a user would run it
    os.chdir(job["cwd"])
    runpy.run_path(job["script"], run_name="__main__")
    return captured


def script_data(job):
    """The exported script's data section alone (no model, no training): the rows load_data() gives."""
    import runpy

    os.chdir(job["cwd"])
    script = runpy.run_path(job["script"], run_name="exported_script")  # not "__main__": main() does not run
    train, val = script["load_data"](script["load_tokenizer"]())
    rows = [{"input_ids": list(r["input_ids"]), "labels": list(r["labels"])} for r in train]
    return {"rows": rows, "val": 0 if val is None else len(val)}


def merged_logits(job):
    from peft import PeftModel

    merged = AutoModelForCausalLM.from_pretrained(job["merged"])  # in the dtype it was saved in
    dtype = merged.dtype
    reference = PeftModel.from_pretrained(load_base(job["base"]), job["adapter"]).merge_and_unload().to(dtype)
    ours, theirs = merged.state_dict(), reference.state_dict()
    worst_weight, worst_name = 0.0, None
    for name, t in theirs.items():
        if name not in ours:
            return {"error": f"merged export lacks {name}"}
        d = (ours[name].to(torch.float64) - t.to(torch.float64)).abs().max().item()
        if d > worst_weight:
            worst_weight, worst_name = d, name
    ids = torch.tensor(job["input_ids"])
    with torch.no_grad():
        # Both run in float64 from their stored-dtype weights, so the comparison is of the weights alone.
        a = merged.to(torch.float64)(input_ids=ids).logits
        b = reference.to(torch.float64)(input_ids=ids).logits
    return {
        "dtype": str(dtype).replace("torch.", ""),
        "extra": sorted(set(ours) - set(theirs)),
        "max_weight_diff": worst_weight,
        "worst_weight": worst_name,
        "max_logit_diff": (a - b).abs().max().item(),
        "max_logit": b.abs().max().item(),
    }


JOBS = {"peft_loss": peft_loss, "auto_peft": auto_peft, "peft_adapter": peft_adapter, "trl_script": trl_script, "script_data": script_data, "merged_logits": merged_logits}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    result = JOBS[request["job"]](request)
    sys.stdout.write(json.dumps(result) + "\n")
