// Rendering a chat with the model's Jinja chat_template the way transformers'
// `apply_chat_template(messages, tokenize=False)` does: the template sees `messages`,
// `add_generation_prompt` and the special tokens by name (`bos_token`, `eos_token`, ...), and a
// token the tokenizer does not have is left undefined (renders empty), not the string "None".

import { Template } from '@huggingface/jinja';
import { QloraError } from '../errors';

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
    try {
      return template.render({ ...specialTokens, messages, add_generation_prompt: addGenerationPrompt });
    } catch (e) {
      // Templates reject conversations they cannot express with raise_exception (e.g. "roles must
      // alternate user/assistant"), so this is usually a problem with the record, not the template.
      throw new QloraError('DATASET_INVALID', `The chat template rejected the messages: ${errorText(e)}`);
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
