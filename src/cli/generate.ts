// `qlora generate`: continue a prompt with the base model, or with an adapter; prints
// {"ids":[…new token ids…],"text":"…new text…"}.
import { QloraError } from '../errors';
import type { OptionSpec, Parsed } from './args';
import { requireOpt } from './args';
import { openGpu, loadModel, readAdapterDir, log } from './setup';
import { BASE_QUANTS } from '../engine/base-weights';
import type { BaseQuant } from '../engine/base-weights';
import { createGpuLora } from '../engine/gpu-lora';
import { Generator } from '../engine/generate';
import { formatAlpacaPrompt } from '../data/examples';

export const GENERATE_OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', help: 'model folder or http(s) base URL' },
  adapter: { type: 'string', help: 'PEFT adapter folder (default: the base model alone)' },
  quant: { type: 'string', help: 'base precision (default nf4)', choices: BASE_QUANTS },
  prompt: { type: 'string', help: 'prompt text' },
  template: { type: 'string', help: 'wrap the prompt as an Alpaca instruction, or as a chat user turn', choices: ['alpaca', 'chat', 'none'] },
  'max-new-tokens': { type: 'int', help: 'tokens to generate' },
  greedy: { type: 'flag', help: 'always take the most likely token (default: sample)' },
  temperature: { type: 'number', help: 'sampling temperature (default 0.7)' },
  'top-p': { type: 'number', help: 'nucleus sampling mass (default 0.9)' },
  seed: { type: 'int', help: 'sampling seed (default 0)' },
  'ignore-eos': { type: 'flag', help: 'do not stop at the end-of-sequence token' },
};

export async function generate(p: Parsed): Promise<void> {
  const cmd = 'generate';
  const modelLoc = requireOpt<string>(p, 'model', cmd);
  const prompt = requireOpt<string>(p, 'prompt', cmd);
  const maxNew = requireOpt<number>(p, 'max-new-tokens', cmd);
  if (maxNew < 1) throw new QloraError('ARGUMENT_INVALID', `--max-new-tokens must be ≥ 1; got ${maxNew}`);
  const ctx = await openGpu();
  const { files, weights } = await loadModel(ctx, modelLoc, ((p.quant as string | undefined) ?? 'nf4') as BaseQuant, 4096);
  const tok = files.tokenizer;
  const template = (p.template as string | undefined) ?? 'none';
  const text = template === 'alpaca' ? formatAlpacaPrompt(prompt) : template === 'chat' ? tok.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true }) : prompt;
  const ids = tok.encode(text, { addSpecialTokens: template !== 'chat' });
  const adapter = p.adapter ? await readAdapterDir(p.adapter as string, files) : null;
  const lora = adapter ? createGpuLora(ctx, adapter.layout, adapter.params) : null;
  const gen = new Generator(ctx, weights, lora, ids.length + maxNew);
  const eos = [...files.config.eosTokenIds, ...(tok.eosTokenId !== null ? [tok.eosTokenId] : [])];
  log(`generating up to ${maxNew} tokens after a ${ids.length}-token prompt (the first token compiles the GPU shaders)…`);
  const out = await gen.generate(ids, {
    maxNewTokens: maxNew,
    greedy: !!p.greedy,
    temperature: (p.temperature as number | undefined) ?? 0.7,
    topP: (p['top-p'] as number | undefined) ?? 0.9,
    seed: (p.seed as number | undefined) ?? 0,
    eosTokenIds: eos,
    ignoreEos: !!p['ignore-eos'],
  });
  process.stdout.write(JSON.stringify({ ids: out, text: tok.decode(out, { skipSpecialTokens: true }) }) + '\n');
}
