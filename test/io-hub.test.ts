// Model choices to base URLs: Hub ids (validated, revision encoded), Hub page URLs, plain base URLs,
// tokens only in headers, and picked local files keyed by their path in the folder.
import { describe, it, expect } from 'vitest';
import { SUGGESTED_MODELS, hubModel, localModel, resolveModel, urlModel, isHubId } from '../src/io/hub';

describe('hub ids', () => {
  it('resolves an id and a revision to the resolve/ base URL', () => {
    const m = resolveModel('HuggingFaceTB/SmolLM2-135M-Instruct');
    expect(m.baseUrl).toBe('https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct/resolve/main/');
    expect(m.id).toBe('hf:HuggingFaceTB/SmolLM2-135M-Instruct@main');
    expect(m.headers).toEqual({});
    const pr = hubModel('Qwen/Qwen2.5-0.5B-Instruct', { revision: 'refs/pr/1' });
    expect(pr.baseUrl).toBe('https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/resolve/refs%2Fpr%2F1/');
    expect(pr.id).toBe('hf:Qwen/Qwen2.5-0.5B-Instruct@refs/pr/1');
  });

  it('refuses ids the Hub would refuse, with what is expected', () => {
    for (const bad of ['SmolLM2', 'a/b/c', 'owner/na me', '-x/y', 'x/y.', 'x/a--b', 'x/a..b', '../etc', 'owner/']) {
      expect(isHubId(bad)).toBe(false);
      expect(() => resolveModel(bad)).toThrow(/owner\/name/);
    }
    expect(() => hubModel('a/b', { revision: 'has space' })).toThrow(/revision/);
  });

  it('puts a token in the Authorization header only', () => {
    const m = resolveModel('meta-llama/Llama-3.2-1B-Instruct', { token: '  hf_abc123 ' });
    expect(m.headers).toEqual({ Authorization: 'Bearer hf_abc123' });
    expect(JSON.stringify({ id: m.id, label: m.label, baseUrl: m.baseUrl })).not.toContain('hf_abc123');
    expect(() => resolveModel('a/b', { token: 'hf_abc\n123' })).toThrow(/token/);
  });

  it('turns a Hub page URL into its files, keeps other URLs as base URLs', () => {
    expect(resolveModel('https://huggingface.co/TinyLlama/TinyLlama-1.1B-Chat-v1.0').baseUrl).toBe(
      'https://huggingface.co/TinyLlama/TinyLlama-1.1B-Chat-v1.0/resolve/main/',
    );
    expect(resolveModel('https://huggingface.co/a/b/tree/dev').baseUrl).toBe('https://huggingface.co/a/b/resolve/dev/');
    const u = resolveModel('http://127.0.0.1:8000/models/tiny?x=1#frag');
    expect(u.baseUrl).toBe('http://127.0.0.1:8000/models/tiny/');
    expect(u.id).toBe('url:http://127.0.0.1:8000/models/tiny/');
    expect(urlModel('https://example.com/m/').baseUrl).toBe('https://example.com/m/');
    expect(() => urlModel('ftp://example.com/m')).toThrow(/http/);
  });

  it('suggests five small chat models, Llama gated', () => {
    expect(SUGGESTED_MODELS.map((m) => m.id)).toEqual([
      'HuggingFaceTB/SmolLM2-135M-Instruct',
      'HuggingFaceTB/SmolLM2-360M-Instruct',
      'Qwen/Qwen2.5-0.5B-Instruct',
      'meta-llama/Llama-3.2-1B-Instruct',
      'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
    ]);
    expect(SUGGESTED_MODELS.filter((m) => m.gated).map((m) => m.id)).toEqual(['meta-llama/Llama-3.2-1B-Instruct']);
    for (const m of SUGGESTED_MODELS) expect(isHubId(m.id)).toBe(true);
  });
});

describe('local files', () => {
  it('keys picked files by their path below the folder', () => {
    const file = (path: string) => Object.assign(new File(['{}'], path.split('/').at(-1) as string), { webkitRelativePath: path });
    const m = localModel([file('tiny/config.json'), file('tiny/model.safetensors'), file('tiny/sub/x.safetensors')]);
    expect([...m.files.keys()].sort()).toEqual(['config.json', 'model.safetensors', 'sub/x.safetensors']);
    expect(m.label).toBe('tiny');
    expect(() => localModel([new File(['x'], 'model.safetensors')])).toThrow(/config\.json/);
  });
});
