// Rendering a chat with the model's Jinja chat_template the way transformers'
// `apply_chat_template(messages, tokenize=False)` does: the template sees `messages`,
// `add_generation_prompt` and the special tokens by name (`bos_token`, `eos_token`, ...), and a
// token the tokenizer does not have is left undefined (renders empty), not the string "None".

import { Interpreter, Template } from '@huggingface/jinja';
import { QloraError } from '../errors';

// A render budget. @huggingface/jinja has no step limit, and a template is code from the model's
// files: `{% for i in range(100000000) %}{% endfor %}` would freeze the tab. Every node the
// interpreter evaluates, every block (so every loop iteration) and every element `range()` makes
// costs one step; a render gets RENDER_STEPS, strings stop at RENDER_CHARS. Steps, not time, so a
// slow machine refuses exactly what a fast one does; a time limit is only the backstop.
export const RENDER_STEPS = 1_000_000; // ~2 s at worst; a 200-message chat in Qwen2's template renders in ~8 ms
const RENDER_CHARS = 16_000_000; // plus 4× the messages' own characters: a long record is not a looping template
const RENDER_MS = 10_000; // backstop for a step that is slow on its own

class RenderBudgetExceeded extends Error {}

interface Budget {
  steps: number;
  deadline: number;
  chars: number;
}
let budget: Budget | null = null; // set only while compileChatTemplate's renderer runs (synchronously)

function tick(n = 1): void {
  if (!budget) return;
  budget.steps -= n;
  if (budget.steps < 0) throw new RenderBudgetExceeded(`took more than ${RENDER_STEPS.toLocaleString('en')} steps`);
  if ((budget.steps & 0x3ff) === 0 && performance.now() > budget.deadline) throw new RenderBudgetExceeded(`took more than ${RENDER_MS / 1000} s`);
}

// The interpreter is patched once: outside a budgeted render (budget === null) it behaves as before.
// `range` is a global the library declares itself (a second declaration is refused), so the budgeted
// render swaps it in the global scope for one that pays for its elements before making any.
type Evaluator = (this: unknown, node: unknown, env: unknown) => { value?: unknown };
interface RuntimeFunction {
  value: (args: { value: unknown }[], scope: unknown) => unknown;
  constructor: new (fn: RuntimeFunction['value']) => RuntimeFunction;
}
interface PatchedInterpreter {
  evaluate: Evaluator;
  evaluateBlock: Evaluator;
  run: (this: { global: { variables: Map<string, unknown> } }, program: unknown) => unknown;
  __budgeted?: true;
}
const proto = Interpreter.prototype as unknown as PatchedInterpreter;
if (!proto.__budgeted) {
  const { evaluate, evaluateBlock, run } = proto;
  const checked = (inner: Evaluator): Evaluator =>
    function (this: unknown, node, env) {
      tick();
      const out = inner.call(this, node, env);
      if (budget && typeof out?.value === 'string' && out.value.length > budget.chars) throw new RenderBudgetExceeded(`built a string of more than ${budget.chars.toLocaleString('en')} characters`);
      return out;
    };
  proto.evaluate = checked(evaluate);
  proto.evaluateBlock = checked(evaluateBlock);
  proto.run = function (program) {
    const range = this.global.variables.get('range') as RuntimeFunction | undefined;
    if (budget && range) {
      this.global.variables.set('range', new range.constructor((args, scope) => {
        tick(rangeLength(args.map((a) => a.value)));
        return range.value(args, scope);
      }));
    }
    return run.call(this, program);
  };
  proto.__budgeted = true;
}

/** How many elements Python's range(...args) has (0 for arguments range() would refuse anyway). */
function rangeLength(args: unknown[]): number {
  if (!args.every((a) => typeof a === 'number')) return 0;
  let [start, stop, step] = args as number[];
  if (stop === undefined) [start, stop] = [0, start];
  step ??= 1;
  if (step === 0) return 0;
  const n = Math.ceil((stop - start) / step);
  return n > 0 ? n : 0;
}

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';
export const CHAT_ROLES: readonly ChatRole[] = ['system', 'user', 'assistant', 'tool'];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatTemplateTokens {
  bosToken: string | null;
  eosToken: string | null;
  padToken: string | null;
  unkToken: string | null;
}

export type ChatTemplateRenderer = (messages: ChatMessage[], addGenerationPrompt: boolean) => string;

/** Parses the template once; a template that does not parse is a broken tokenizer file. */
export function compileChatTemplate(source: string, tokens: ChatTemplateTokens): ChatTemplateRenderer {
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new QloraError(
      'TOKENIZER_INVALID',
      `The tokenizer's chat_template is not valid Jinja (${errorText(e)}). Fix chat_template in tokenizer_config.json or use a non-chat dataset format.`,
    );
  }
  const specialTokens: Record<string, string> = {};
  if (tokens.bosToken !== null) specialTokens.bos_token = tokens.bosToken;
  if (tokens.eosToken !== null) specialTokens.eos_token = tokens.eosToken;
  if (tokens.padToken !== null) specialTokens.pad_token = tokens.padToken;
  if (tokens.unkToken !== null) specialTokens.unk_token = tokens.unkToken;

  return (messages, addGenerationPrompt) => {
    const outer = budget;
    const chars = messages.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : 0), 0);
    budget = { steps: RENDER_STEPS, deadline: performance.now() + RENDER_MS, chars: RENDER_CHARS + 4 * chars };
    try {
      return template.render({ ...specialTokens, messages, add_generation_prompt: addGenerationPrompt });
    } catch (e) {
      if (e instanceof RenderBudgetExceeded) {
        // The template, not the record: every record would hit it again, so this stops the dataset.
        throw new QloraError(
          'TOKENIZER_INVALID',
          `The chat template did not finish rendering a ${messages.length}-message conversation: it ${e.message}, where a real chat template needs a few thousand steps. Its loops are unbounded. Fix chat_template in tokenizer_config.json (or chat_template.jinja), or use a non-chat dataset format.`,
        );
      }
      // Templates reject conversations they cannot express with raise_exception (e.g. "roles must
      // alternate user/assistant"), so this is usually a problem with the record, not the template.
      throw new QloraError('DATASET_INVALID', `The chat template rejected the messages: ${errorText(e)}`);
    } finally {
      budget = outer;
    }
  };
}

/**
 * tokenizer_config.json stores chat_template as a string, or as a list of named templates
 * ([{name, template}]) of which transformers uses "default"; a dict form maps names to templates.
 */
export function pickDefaultChatTemplate(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => isRecord(t) && t.name === 'default');
    if (isRecord(named) && typeof named.template === 'string') return named.template;
  } else if (isRecord(value) && typeof value.default === 'string') {
    return value.default;
  }
  throw new QloraError(
    'TOKENIZER_INVALID',
    'tokenizer_config.json has a chat_template that is neither a string nor a list with a "default" template.',
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
