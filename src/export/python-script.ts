// A Python script that reruns a browser training run on real GPUs with the reference stack:
// transformers + PEFT + TRL's SFTTrainer (+ bitsandbytes NF4 for QLoRA), with the same LoRA,
// optimizer, schedule and data formatting, so a run tried in the browser can be scaled up (longer,
// on a bigger model, on several GPUs) without re-deriving the settings.
// The records are the browser's: read as it reads the file, through the same column mapping, with the
// rows it could not use skipped by the same checks (python-data.ts says how, and the script says so).
// The data formatting matches src/data/examples.ts: Alpaca records become Stanford Alpaca's prompt
// with loss on the response (+ EOS), chat records a conversational prompt/completion pair with loss on
// the last assistant message, prompt/completion records loss on the completion, text records loss on
// everything. The script tokenizes the records itself, as the browser does, and hands SFTTrainer
// input_ids + labels (a pre-tokenized dataset, whose labels TRL 1.13 takes as they are). Written against TRL ≥ 1.13, transformers
// ≥ 4.46 (loss averaged over every target token of an accumulated step, as this engine does), PEFT
// ≥ 0.13. What cannot match exactly: the data order (another RNG), LoRA init values and dropout
// masks (torch's RNG), and the kernels' rounding.
import { QloraError } from '../errors';
import type { DatasetFormat } from '../data/records';
import { DATA_IMPORTS, dataBlock, dataSettingsLines } from './python-data';
import type { ExportedData } from './python-data';
import type { LoraSettings } from '../engine/lora';
import type { SchedulerName } from '../engine/schedule';
import { DEFAULT_SETTINGS } from '../engine/run-settings';
import { DEFAULT_OPTIMIZER } from '../engine/optimizer';

export interface ExportedRunSettings extends ExportedData {
  /** Hub id ("meta-llama/Llama-3.2-1B") or a local path. */
  readonly modelId: string;
  readonly revision?: string | null;
  /**
   * For a model that is not on the Hub (a URL, local files): where it came from. MODEL_ID is then a
   * placeholder path, and the script says to download that folder and put its path there.
   */
  readonly modelSource?: string;
  /** The dataset file as the user has it (.json, .jsonl, .csv or .parquet), next to the script. */
  readonly dataFileName: string;
  readonly format: DatasetFormat;
  /** Tokens per example (longer ones are cut at the end, as here). */
  readonly maxLength: number;
  readonly batchSize: number;
  readonly gradAccum: number;
  /** Exactly one of steps (optimizer updates) and epochs. */
  readonly steps?: number | null;
  readonly epochs?: number | null;
  readonly lr: number;
  readonly scheduler: SchedulerName;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  readonly lora: LoraSettings;
  readonly quant: 'nf4' | 'f16' | 'f32';
  readonly seed: number;
  readonly gradientCheckpointing: boolean;
  /** Fraction of records held out for evaluation (0 = none). */
  readonly valSplit: number;
  /** At most this many held out (the rest trains), as splitExamples caps it; default DEFAULT_SETTINGS.valMax. */
  readonly valMax?: number;
  /** AdamW betas / eps when not the engine's (DEFAULT_OPTIMIZER: torch's defaults 0.9, 0.999, 1e-8). */
  readonly adamBeta1?: number;
  readonly adamBeta2?: number;
  readonly adamEps?: number;
  /** Where the adapter is saved (default "qlora-output"). */
  readonly outputDir?: string;
  /**
   * The projections the base model has (lora.ts modelLoraModules): LORA_TARGETS names only those of lora.targets,
   * so a Llama run does not list Qwen3.5's linear-attention modules, nor Qwen3.5 one it cannot have. Absent: all targets.
   */
  readonly modelModules?: readonly string[];
  /** The base's family; Qwen3.5 (qwen3_5_text) adds what its install needs to the header. */
  readonly modelType?: string;
}

/** The LoRA targets the base model has, in the settings' order. */
function loraTargets(s: ExportedRunSettings): string[] {
  return s.modelModules ? s.lora.targets.filter((m) => s.modelModules!.includes(m)) : [...s.lora.targets];
}

// -- Python literals -------------------------------------------------------------------------------

/** A Python string literal: JSON's escapes are all valid Python escapes. */
const str = (s: string) => JSON.stringify(s);

function num(value: number, what: string): string {
  if (!Number.isFinite(value)) throw new QloraError('ARGUMENT_INVALID', `${what} must be a finite number, got ${value}.`);
  return String(value); // JS number syntax (1e-7, 0.0002, 3) is Python float/int syntax
}

const bool = (b: boolean) => (b ? 'True' : 'False');

/** Text for a # comment: a line break in a user-given name would end the comment and break the script. */
const comment = (text: string) => text.replace(/[\r\n\u2028\u2029\u0085]+/g, ' ');

function validate(s: ExportedRunSettings): void {
  const bad = (what: string) => {
    throw new QloraError('ARGUMENT_INVALID', `Cannot write the training script: ${what}.`);
  };
  if (!s.modelId.trim()) bad('the model id is empty');
  if (!s.dataFileName.trim()) bad('the dataset file name is empty');
  const hasSteps = s.steps !== undefined && s.steps !== null;
  const hasEpochs = s.epochs !== undefined && s.epochs !== null;
  if (hasSteps === hasEpochs) bad('give either steps or epochs');
  if (hasSteps && !(Number.isInteger(s.steps) && (s.steps as number) > 0)) bad(`steps must be a positive integer, got ${s.steps}`);
  if (hasEpochs && !((s.epochs as number) > 0)) bad(`epochs must be positive, got ${s.epochs}`);
  for (const [k, v] of [['batchSize', s.batchSize], ['gradAccum', s.gradAccum], ['maxLength', s.maxLength]] as const) {
    if (!(Number.isInteger(v) && v > 0)) bad(`${k} must be a positive integer, got ${v}`);
  }
  if (!(s.valSplit >= 0 && s.valSplit < 1)) bad(`valSplit must be in [0, 1), got ${s.valSplit}`);
  if (!Number.isInteger(s.seed) || s.seed < 0) bad(`seed must be a non-negative integer, got ${s.seed}`);
  if (s.lora.targets.length === 0) bad('LoRA needs at least one target module');
  if (loraTargets(s).length === 0) bad(`none of the LoRA targets (${s.lora.targets.join(', ')}) is a projection of this model (${s.modelModules!.join(', ')})`);
}

/** transformers' scheduler names: its "constant" ignores warmup, "constant_with_warmup" is ours. */
function schedulerType(s: ExportedRunSettings): string {
  if (s.scheduler === 'constant') return s.warmupSteps > 0 ? 'constant_with_warmup' : 'constant';
  return s.scheduler;
}

// -- the script, section by section ----------------------------------------------------------------

/** Qwen3.5 needs a transformers with its classes (5.2 on); its linear-attention layers run fastest with two optional kernel packages. */
const QWEN35_NOTE = `
# Qwen3.5: AutoModelForCausalLM loads the text model of the vision-language checkpoint (its weights under
# model.language_model.; the vision tower is not loaded). Its Gated DeltaNet layers fall back to slow PyTorch
# code unless these are installed (CUDA): pip install flash-linear-attention causal-conv1d
#`;

function header(s: ExportedRunSettings): string {
  const run = s.steps ? `${s.steps} optimizer steps` : `${s.epochs} epochs`;
  return `#!/usr/bin/env python3
# Reproduces a fine-tuning run of the in-browser QLoRA trainer with transformers + PEFT + TRL.
#   model:   ${comment(s.modelId)}${s.revision ? ` @ ${comment(s.revision)}` : ''}
#   data:    ${comment(s.dataFileName)} (${s.format} format), ${run}
#            the same records as the browser: its column mapping (COLUMNS) and its skipped rows (SKIP_INVALID) apply
#   LoRA:    r=${s.lora.r}, alpha=${s.lora.alpha}, dropout=${s.lora.dropout}${s.lora.rslora ? ', rsLoRA' : ''}; base ${s.quant === 'nf4' ? 'NF4 (QLoRA)' : s.quant}
#
# Install (CUDA GPU; bitsandbytes is needed for NF4 only):
#   pip install "torch>=2.3" "transformers>=${s.modelType === 'qwen3_5_text' ? '5.2' : '4.46'}" "peft>=0.13" "trl>=1.13" "datasets>=2.20" accelerate bitsandbytes
#${s.modelType === 'qwen3_5_text' ? QWEN35_NOTE : ''}
# Run on one GPU:
#   python train.py
#
# Several GPUs (data parallel; each process trains on its own batches, so the effective batch is
# batch size x gradient accumulation x number of GPUs: divide GRAD_ACCUM to keep the browser's):
#   accelerate launch --num_processes 4 train.py
# DeepSpeed ZeRO (shards optimizer state / gradients / weights across GPUs for bigger models):
#   accelerate config            # choose DeepSpeed, ZeRO stage 2 or 3
#   accelerate launch train.py
# With ZeRO-3 and NF4, also set bnb_4bit_quant_storage=torch.bfloat16 in BitsAndBytesConfig below so
# the 4-bit weights can be sharded, and remove device_map (DeepSpeed places the weights itself).
#
# Not bit-identical to the browser run: the data order, the LoRA initialisation and the dropout masks
# come from torch's RNG, and the kernels round differently. The loss curve should look the same.
`;
}

function settingsBlock(s: ExportedRunSettings): string {
  const lines = [
    ...(s.modelSource
      ? [`# The base model is not on the Hub: it came from ${comment(s.modelSource)}.`,
         '# Copy that folder (config.json, tokenizer files, *.safetensors) here and put its path below.']
      : []),
    `MODEL_ID = ${str(s.modelId)}`,
    `REVISION = ${s.revision ? str(s.revision) : 'None'}  # a commit hash pins the exact weights`,
    `DATA_FILE = ${str(s.dataFileName)}`,
    `DATA_FORMAT = ${str(s.format)}  # alpaca | chat | completion | text`,
    ...dataSettingsLines(s),
    `OUTPUT_DIR = ${str(s.outputDir ?? 'qlora-output')}`,
    `QUANT = ${str(s.quant)}  # nf4 = QLoRA; f16 / f32 = LoRA on a 16/32-bit base`,
    `MAX_LENGTH = ${num(s.maxLength, 'maxLength')}`,
    `BATCH_SIZE = ${num(s.batchSize, 'batchSize')}`,
    `GRAD_ACCUM = ${num(s.gradAccum, 'gradAccum')}`,
    `MAX_STEPS = ${s.steps ? num(s.steps, 'steps') : '-1'}  # -1: train for NUM_EPOCHS instead`,
    `NUM_EPOCHS = ${s.epochs ? num(s.epochs, 'epochs') : '1'}`,
    `LEARNING_RATE = ${num(s.lr, 'lr')}`,
    `LR_SCHEDULER = ${str(schedulerType(s))}`,
    `WARMUP_STEPS = ${num(s.warmupSteps, 'warmupSteps')}`,
    `WEIGHT_DECAY = ${num(s.weightDecay, 'weightDecay')}`,
    `MAX_GRAD_NORM = ${num(s.maxGradNorm, 'maxGradNorm')}  # 0 = no clipping`,
    `ADAM_BETA1 = ${num(s.adamBeta1 ?? DEFAULT_OPTIMIZER.beta1, 'adamBeta1')}`,
    `ADAM_BETA2 = ${num(s.adamBeta2 ?? DEFAULT_OPTIMIZER.beta2, 'adamBeta2')}`,
    `ADAM_EPSILON = ${num(s.adamEps ?? DEFAULT_OPTIMIZER.eps, 'adamEps')}`,
    `SEED = ${num(s.seed, 'seed')}`,
    `GRADIENT_CHECKPOINTING = ${bool(s.gradientCheckpointing)}`,
    `VAL_SPLIT = ${num(s.valSplit, 'valSplit')}  # fraction held out for evaluation`,
    `VAL_MAX = ${num(s.valMax ?? DEFAULT_SETTINGS.valMax, 'valMax')}  # but at most this many examples (the rest trains): each evaluation runs them all`,
    '',
    `LORA_R = ${num(s.lora.r, 'r')}`,
    `LORA_ALPHA = ${num(s.lora.alpha, 'alpha')}`,
    `LORA_DROPOUT = ${num(s.lora.dropout, 'dropout')}`,
    `LORA_TARGETS = [${loraTargets(s).map(str).join(', ')}]`,
    `USE_RSLORA = ${bool(s.lora.rslora)}  # scale alpha/sqrt(r) instead of alpha/r`,
  ];
  return `# ---- the browser run's settings ----\n${lines.join('\n')}\n`;
}

const IMPORTS = `${DATA_IMPORTS}
import torch
from accelerate import PartialState
from datasets import Dataset, load_dataset
from peft import LoraConfig, prepare_model_for_kbit_training
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, set_seed
from trl import SFTConfig, SFTTrainer
`;

function modelBlock(): string {
  return `# ---- model ----
# bf16 where the GPU has it, fp16 on older CUDA GPUs, float32 on the CPU (slow, but it runs anywhere).
USE_CUDA = torch.cuda.is_available()
USE_BF16 = USE_CUDA and torch.cuda.is_bf16_supported()
COMPUTE_DTYPE = torch.bfloat16 if USE_BF16 else torch.float16 if USE_CUDA else torch.float32


def load_model():
    if QUANT == "nf4" and not USE_CUDA:
        raise SystemExit(
            "QUANT = 'nf4' (QLoRA) needs bitsandbytes on a CUDA GPU, and this machine has none. "
            "Run it where there is one, or set QUANT = 'f32' to train plain LoRA on the CPU."
        )
    if QUANT == "nf4":
        # QLoRA: NF4 weights, double quantization of the absmax, bf16 compute (Dettmers et al., 2023);
        # fp16 compute on GPUs without bf16 (T4, V100).
        quantization = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=COMPUTE_DTYPE,
        )
        dtype = COMPUTE_DTYPE
    else:
        # The browser kept a f16 base and computed in f32; on a CUDA GPU bf16 is the usual choice.
        quantization = None
        dtype = COMPUTE_DTYPE if QUANT == "f16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(
        MODEL_ID,
        revision=REVISION,
        quantization_config=quantization,
        dtype=dtype,
        # The whole model on this process's GPU (one copy per process under accelerate launch);
        # remove for DeepSpeed ZeRO-3.
        device_map={"": PartialState().local_process_index} if USE_CUDA else None,
    )
    if QUANT == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=GRADIENT_CHECKPOINTING)
    return model


def load_tokenizer():
    tokenizer = AutoTokenizer.from_pretrained(MODEL_ID, revision=REVISION)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # padding never takes loss
    return tokenizer
`;
}

function trainBlock(s: ExportedRunSettings): string {
  const mixed = s.quant === 'f32' ? 'bf16=False,' : 'bf16=USE_BF16,\n        fp16=USE_CUDA and not USE_BF16,';
  return `# ---- training ----
def main():
    set_seed(SEED)
    tokenizer = load_tokenizer()
    train_data, eval_data = load_data(tokenizer)
    model = load_model()

    lora = LoraConfig(
        r=LORA_R,
        lora_alpha=LORA_ALPHA,
        lora_dropout=LORA_DROPOUT,
        target_modules=LORA_TARGETS,
        use_rslora=USE_RSLORA,
        bias="none",
        task_type="CAUSAL_LM",
    )
    config = SFTConfig(
        output_dir=OUTPUT_DIR,
        max_length=MAX_LENGTH,  # longer examples are cut at the end
        packing=False,
        per_device_train_batch_size=BATCH_SIZE,
        per_device_eval_batch_size=BATCH_SIZE,
        gradient_accumulation_steps=GRAD_ACCUM,
        max_steps=MAX_STEPS,
        num_train_epochs=NUM_EPOCHS,
        learning_rate=LEARNING_RATE,
        lr_scheduler_type=LR_SCHEDULER,
        warmup_steps=WARMUP_STEPS,
        weight_decay=WEIGHT_DECAY,
        max_grad_norm=MAX_GRAD_NORM,  # the Trainer clips only when > 0
        # torch.optim.AdamW, as the browser; the QLoRA paper's "paged_adamw_32bit" saves memory spikes.
        optim="adamw_torch",
        adam_beta1=ADAM_BETA1,
        adam_beta2=ADAM_BETA2,
        adam_epsilon=ADAM_EPSILON,
        gradient_checkpointing=GRADIENT_CHECKPOINTING,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        ${mixed}
        seed=SEED,
        data_seed=SEED,
        logging_steps=1,
        eval_strategy="steps" if eval_data is not None else "no",
        eval_steps=50,  # not browser settings: how often to evaluate and checkpoint here
        save_strategy="steps",
        save_steps=200,
        report_to="none",
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=train_data,
        eval_dataset=eval_data,
        processing_class=tokenizer,
        peft_config=lora,
    )
    trainer.train()
    # adapter_model.safetensors + adapter_config.json, loadable with PeftModel.from_pretrained
    trainer.save_model(OUTPUT_DIR)
    tokenizer.save_pretrained(OUTPUT_DIR)


if __name__ == "__main__":
    main()
`;
}

/** The text of train.py for these settings. */
export function pythonTrainingScript(settings: ExportedRunSettings): string {
  validate(settings);
  // Two blank lines between top-level sections, as PEP 8 wants around functions.
  return [header(settings), IMPORTS, settingsBlock(settings), dataBlock(settings), modelBlock(), trainBlock(settings)].join('\n\n');
}
