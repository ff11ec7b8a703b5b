// The `qlora` command line: train, generate, eval and export-gguf over the same engine as the app, on the
// machine's GPU through Dawn. Errors print their message (and code) and exit 1; bad usage exits 2.
import { isQloraError } from '../errors';
import { parseArgs, usage } from './args';
import type { OptionSpec, Parsed } from './args';
import { TRAIN_OPTIONS, train } from './train';
import { GENERATE_OPTIONS, generate } from './generate';
import { EVAL_OPTIONS, evaluate } from './eval';
import { EXPORT_GGUF_OPTIONS, exportGguf } from './export-gguf';

const COMMANDS: Record<string, { summary: string; options: Record<string, OptionSpec>; run: (p: Parsed) => Promise<void> }> = {
  train: { summary: 'fine-tune a LoRA adapter (QLoRA on an NF4 base by default)', options: TRAIN_OPTIONS, run: train },
  generate: { summary: 'generate text with the base model or an adapter', options: GENERATE_OPTIONS, run: generate },
  eval: { summary: 'mean loss of a dataset', options: EVAL_OPTIONS, run: evaluate },
  'export-gguf': { summary: 'write a PEFT adapter as a GGUF LoRA adapter (llama.cpp, Ollama, LM Studio)', options: EXPORT_GGUF_OPTIONS, run: exportGguf },
};

const HELP = `qlora — QLoRA fine-tuning on WebGPU (Dawn in Node)

  qlora train    --model DIR|URL --data FILE --batch-size B --steps S --lr LR --out DIR [...]
  qlora generate --model DIR|URL [--adapter DIR] --prompt TEXT --max-new-tokens N [--greedy]
  qlora eval     --model DIR|URL [--adapter DIR] --data FILE
  qlora export-gguf --model DIR|URL --adapter DIR --out FILE.gguf

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
    process.stdout.write(usage(name, cmd.summary, cmd.options));
    return 0;
  }
  try {
    await cmd.run(parseArgs(rest, cmd.options, name));
    return 0;
  } catch (e) {
    if (isQloraError(e)) {
      process.stderr.write(`qlora ${name}: ${e.message} [${e.code}]\n`);
      return e.code === 'ARGUMENT_INVALID' ? 2 : 1;
    }
    throw e;
  }
}
