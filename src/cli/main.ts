// The `qlora` command line: train, generate, eval, merge, export-gguf and push over the same engine as the app,
// on the machine's GPU through Dawn. Errors print their message (and code) and exit 1; bad usage exits
// 2; a training Ctrl-C ended exits 130.
import { isQloraError } from '../errors';
import { parseArgs, usage } from './args';
import type { OptionSpec, Parsed } from './args';
import { TRAIN_OPTIONS, train } from './train';
import { presetNotes } from './train-options';
import { GENERATE_OPTIONS, generate } from './generate';
import { EVAL_OPTIONS, evaluate } from './eval';
import { EXPORT_GGUF_OPTIONS, exportGguf } from './export-gguf';
import { MERGE_OPTIONS, merge } from './merge';
import { PUSH_NOTES, PUSH_OPTIONS, push } from './push';

const TRAIN_NOTES = `Defaults are the page's. The run prints one JSON line per step and per evaluation on stdout and
writes the adapter and trainer_state.json (log_history, as Hugging Face's Trainer) to --out.
Ctrl-C stops after the current step, saves the adapter (and a checkpoint with --checkpoint-every)
and exits 130; a second Ctrl-C quits at once (130). Exit 0: done (or stopped early on --patience);
1: an error; 2: bad options.

${presetNotes()}`;

const COMMANDS: Record<string, { summary: string; options: Record<string, OptionSpec>; run: (p: Parsed) => Promise<number | void>; notes?: string }> = {
  train: { summary: 'fine-tune a LoRA adapter (QLoRA on an NF4 base by default)', options: TRAIN_OPTIONS, run: train, notes: TRAIN_NOTES },
  generate: { summary: 'generate text with the base model or an adapter', options: GENERATE_OPTIONS, run: generate },
  eval: { summary: 'mean loss of a dataset', options: EVAL_OPTIONS, run: evaluate },
  merge: { summary: 'merge an adapter into the base: a 16-bit model folder transformers loads', options: MERGE_OPTIONS, run: merge },
  'export-gguf': { summary: 'write a PEFT adapter as a GGUF LoRA adapter (llama.cpp, Ollama, LM Studio)', options: EXPORT_GGUF_OPTIONS, run: exportGguf },
  push: { summary: 'push an adapter folder and its model card to a Hugging Face Hub repo', options: PUSH_OPTIONS, run: push, notes: PUSH_NOTES },
};

const HELP = `qlora — QLoRA fine-tuning on WebGPU (Dawn in Node)

  qlora train       --model DIR|URL --data FILE --out DIR [--steps S --lr LR --batch-size B ...]
  qlora train       ... --checkpoint-every N, then the same command with --resume [DIR]
  qlora generate    --model DIR|URL [--adapter DIR] --prompt TEXT --max-new-tokens N [--greedy]
  qlora eval        --model DIR|URL [--adapter DIR] --data FILE
  qlora merge       --model DIR|URL --adapter DIR --out DIR [--dtype bf16|f16]
  qlora export-gguf --model DIR|URL --adapter DIR --out FILE.gguf
  qlora push        --adapter DIR --repo OWNER/NAME [--token TOKEN (default $HF_TOKEN)] [--private]

Run "qlora <command> --help" for every option. Without a GPU, WebGPU can run on the CPU through
SwiftShader: apt-get install -y chromium libvulkan1, then VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`qlora: unknown command "${name}".\n\n${HELP}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(usage(name, cmd.summary, cmd.options, cmd.notes));
    return 0;
  }
  try {
    return (await cmd.run(parseArgs(rest, cmd.options, name))) ?? 0;
  } catch (e) {
    if (isQloraError(e)) {
      process.stderr.write(`qlora ${name}: ${e.message} [${e.code}]\n`);
      return e.code === 'ARGUMENT_INVALID' ? 2 : 1;
    }
    throw e;
  }
}
