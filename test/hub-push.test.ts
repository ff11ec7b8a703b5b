// Pushing an adapter to the Hub (issue 19, "Share the result"), against the file server's stand-in for
// the Hub's write API (test/helpers/hub-write-api.ts): the files committed byte for byte (the weights
// through Git LFS, as the Hub takes .safetensors), the model card's metadata, a new repo and an
// existing one, and the refusals in words — a bad token (401), a namespace or repo the token cannot
// write (403). Then `qlora push` end to end in a child process. No GPU: this stays a few seconds.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFileServer } from './helpers/file-server';
import type { FileServer } from './helpers/file-server';
import { runCli, jsonLines } from './helpers/cli';
import { FIXTURES } from './helpers/golden';
import { parseModelConfig } from '../src/formats/model-config';
import { SafetensorsFile } from '../src/formats/safetensors';
import { loraLayout } from '../src/engine/lora';
import { parseAdapterConfig, readAdapterWeights } from '../src/engine/peft-adapter';
import { adapterFiles } from '../src/export/adapter-bundle';
import { cardWithLicense, checkRepoId, pushToHub } from '../src/io/hub-push';
import type { HubPushProgress } from '../src/io/hub-push';
import { isQloraError } from '../src/errors';

const STEP3 = `${FIXTURES}golden/tiny-llama/qlora/adapter_step3/`;
const BASE = 'HuggingFaceTB/SmolLM2-135M';

/** The golden adapter as the page exports it: weights, config and model card. */
function goldenAdapterFiles(): Record<string, Uint8Array> {
  const cfg = parseModelConfig(JSON.parse(readFileSync(`${FIXTURES}tiny-llama/config.json`, 'utf8')));
  const { settings } = parseAdapterConfig(JSON.parse(readFileSync(`${STEP3}adapter_config.json`, 'utf8')));
  const layout = loraLayout(cfg, settings);
  const params = readAdapterWeights(new SafetensorsFile(new Uint8Array(readFileSync(`${STEP3}adapter_model.safetensors`)), 'step3'), layout);
  return adapterFiles(layout, params, BASE, { quant: 'nf4', steps: 3, dataset: 'alpaca-tiny.json' });
}

const frontMatter = (card: Buffer | Uint8Array) => /^---\n([\s\S]*?)\n---\n/.exec(Buffer.from(card).toString('utf8'))?.[1] ?? '';

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(isQloraError(e), String(e)).toBe(true);
  return (e as Error).message;
}

let server: FileServer;
let endpoint: string;
beforeAll(async () => {
  server = await startFileServer({});
  endpoint = server.base.replace(/\/$/, '');
  server.hub.tokens = { 'hf_alice': ['alice', 'team'], 'hf_readonly_bob': [] };
});
afterAll(() => server.close());

describe('pushing an adapter to the Hub', () => {
  it('creates the repo and commits the three files, the weights through LFS, with the card\'s metadata', async () => {
    const files = goldenAdapterFiles();
    const events: HubPushProgress[] = [];
    const result = await pushToHub({ repo: 'alice/tiny-lora', token: 'hf_alice', files, endpoint, onProgress: (e) => events.push(e) });
    expect(result).toMatchObject({ repo: 'alice/tiny-lora', url: `${endpoint}/alice/tiny-lora`, created: true });
    expect(result.commitUrl).toMatch(new RegExp(`^${endpoint}/alice/tiny-lora/commit/[0-9a-f]{40}$`));
    const repo = server.hub.repos.get('alice/tiny-lora')!;
    expect([...repo.files.keys()].sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    for (const [name, bytes] of Object.entries(files)) expect(Buffer.compare(repo.files.get(name)!, Buffer.from(bytes)), name).toBe(0);
    // The weights went through Git LFS (stored by their sha256), the small files inline.
    expect(server.hub.lfs.size).toBe(1);
    expect(repo.commits).toEqual([{ title: 'Upload LoRA adapter', files: expect.arrayContaining(['README.md', 'adapter_config.json', 'adapter_model.safetensors']) }]);
    const meta = frontMatter(repo.files.get('README.md')!);
    expect(meta).toContain(`base_model: "${BASE}"`);
    expect(meta).toContain('library_name: peft');
    expect(meta).toMatch(/tags:\n- lora\n- qlora/);
    // Progress: every phase in order, ending with all bytes sent.
    const phases = [...new Set(events.map((e) => e.phase))];
    expect(phases).toEqual(['creating', 'preuploading', 'uploading', 'committing', 'done']);
    expect(events.at(-1)).toEqual({ phase: 'done', sentBytes: events[0].totalBytes, totalBytes: Object.values(files).reduce((a, f) => a + f.byteLength, 0) });
  });

  it('adds a commit to a repo that exists (the Hub\'s 409 on creating it is not an error)', async () => {
    const files = { ...goldenAdapterFiles(), 'README.md': new TextEncoder().encode(cardWithLicense(new TextDecoder().decode(goldenAdapterFiles()['README.md']), 'apache-2.0')) };
    const result = await pushToHub({ repo: 'https://huggingface.co/alice/tiny-lora', token: 'hf_alice', files, endpoint, commitTitle: 'Step 3 again' });
    expect(result.created).toBe(false);
    const repo = server.hub.repos.get('alice/tiny-lora')!;
    expect(repo.commits.map((c) => c.title)).toEqual(['Upload LoRA adapter', 'Step 3 again']);
    expect(frontMatter(repo.files.get('README.md')!)).toMatch(/^license: apache-2.0\nbase_model: "HuggingFaceTB\/SmolLM2-135M"\nlibrary_name: peft/);
  });

  it('says what to do for a bad token (401), a namespace the token cannot create in and a repo it cannot write (403)', async () => {
    const files = goldenAdapterFiles();
    const bad = await refusal(pushToHub({ repo: 'alice/x', token: 'hf_typo', files, endpoint }));
    expect(bad).toMatch(/^The Hub refused the token \(401 Unauthorized\): it is not a valid Hugging Face token\..*huggingface\.co\/settings\/tokens/);
    const ns = await refusal(pushToHub({ repo: 'alice/bobs-lora', token: 'hf_readonly_bob', files, endpoint }));
    expect(ns).toMatch(/^The token cannot create repos under "alice" \(403 Forbidden\)\. Use a token with write access/);
    expect(server.hub.repos.has('alice/bobs-lora')).toBe(false);
    // Someone else's repo: it exists (creating it answers 409), and the upload is refused.
    server.hub.repos.set('carol/lora', { files: new Map(), commits: [], private: false });
    const repo = await refusal(pushToHub({ repo: 'carol/lora', token: 'hf_alice', files, endpoint }));
    expect(repo).toMatch(/^The token cannot write to carol\/lora \(403 Forbidden\): it is read-only, or a fine-grained token without write access/);
    expect(server.hub.repos.get('carol/lora')!.commits).toEqual([]);
  });

  it('refuses what is not a repo name or not a token before sending anything', async () => {
    const files = goldenAdapterFiles();
    const before = server.requests.length;
    expect(await refusal(pushToHub({ repo: 'alice', token: 'hf_alice', files, endpoint }))).toMatch(/"alice" is not a Hub repo name: give owner\/name/);
    expect(await refusal(pushToHub({ repo: 'alice/x', token: ' ', files, endpoint }))).toMatch(/needs a Hugging Face token with write access/);
    expect(server.requests.length).toBe(before);
    expect(checkRepoId('huggingface.co/alice/tiny-lora/')).toBe('alice/tiny-lora');
    expect(checkRepoId('https://huggingface.co/alice/tiny-lora')).toBe('alice/tiny-lora');
  });
});

describe('qlora push', () => {
  it('pushes an adapter folder with its card (license added), prints the link; a bad token and a read-only one exit 1 saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qlora-push-'));
    for (const [name, bytes] of Object.entries(goldenAdapterFiles())) writeFileSync(join(dir, name), bytes);
    const env = { HF_ENDPOINT: endpoint, HF_TOKEN: 'hf_alice' };
    const ok = await runCli(['push', '--adapter', dir, '--repo', 'alice/cli-lora', '--license', 'apache-2.0', '--private'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(jsonLines(ok.stdout)).toEqual([{ repo: 'alice/cli-lora', url: `${endpoint}/alice/cli-lora`, commit: expect.stringContaining('/alice/cli-lora/commit/'), created: true, files: ['adapter_config.json', 'adapter_model.safetensors', 'README.md'] }]);
    expect(ok.stderr).toMatch(/creating…[\s\S]*uploading [\d.]+ of [\d.]+ MiB[\s\S]*committing…[\s\S]*created http/);
    const repo = server.hub.repos.get('alice/cli-lora')!;
    expect(repo.private).toBe(true);
    expect(Buffer.compare(repo.files.get('adapter_model.safetensors')!, readFileSync(join(dir, 'adapter_model.safetensors')))).toBe(0);
    expect(frontMatter(repo.files.get('README.md')!)).toMatch(/^license: apache-2.0\nbase_model: "HuggingFaceTB\/SmolLM2-135M"\nlibrary_name: peft/);

    const bad = await runCli(['push', '--adapter', dir, '--repo', 'alice/cli-lora', '--token', 'hf_typo'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('qlora push: The Hub refused the token (401 Unauthorized)');
    const readOnly = await runCli(['push', '--adapter', dir, '--repo', 'alice/cli-lora-2'], { ...env, HF_TOKEN: 'hf_readonly_bob' });
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toContain('The token cannot create repos under "alice" (403 Forbidden)');
    const noToken = await runCli(['push', '--adapter', dir, '--repo', 'alice/cli-lora'], { HF_ENDPOINT: endpoint, HF_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('pass --token or set HF_TOKEN');
    const notAdapter = await runCli(['push', '--adapter', tmpdir(), '--repo', 'alice/cli-lora'], env);
    expect(notAdapter.code).toBe(2);
    expect(notAdapter.stderr).toMatch(/is not an adapter folder: it needs adapter_config.json and adapter_model.safetensors/);
    expect(repo.commits.length).toBe(1);
  });
});
