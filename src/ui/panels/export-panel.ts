// Export panel: the adapter as PEFT writes it (a zip, or its two files, or pushed to the Hub: hub-push-section.ts), as a GGUF LoRA adapter for
// llama.cpp / Ollama / LM Studio, the base merged with the adapter as 16-bit safetensors shards, the equivalent Python (transformers + PEFT) script, and
// importing an adapter to try it or to train on from it.
import { h, fill, uid, download, sleep } from '../dom';
import { formatBytes } from '../format';
import { readAdapterFiles } from '../adapter-files';
import { Comlink } from '../../worker/client';
import type { App } from '../app';
import { panel } from './panel';
import { adapterZipName, ggufAdapterName } from '../export-names';
import { hubPushSection } from '../hub-push-section';

const SCRIPT_NAME = 'train_qlora.py';

export function exportPanel(app: App): HTMLElement {
  const store = app.store;
  const busy = new Set<string>();
  const run = (name: string, what: () => Promise<void>) => {
    if (busy.has(name)) return;
    busy.add(name);
    render();
    void app.guard(what, { fatal: false }).finally(() => {
      busy.delete(name);
      render();
    });
  };

  const zipBtn = h('button', { type: 'button', class: 'primary', dataset: { action: 'export-adapter' } }, 'Download adapter (zip)');
  // Named after the run and its model, so downloads from several runs stay apart.
  const namedRun = () => {
    const s = store.get();
    const record = s.runs.find((r) => r.id === s.run.id);
    if (s.imported && !s.run.id) return null;
    return record ?? (s.run.id ? { id: s.run.id, name: s.model?.name ?? '' } : null);
  };
  const zipName = () => adapterZipName(namedRun(), store.get().model?.name ?? null);
  const filesBtn = h('button', { type: 'button', dataset: { action: 'export-adapter-files' } }, 'Download the two files');
  zipBtn.addEventListener('click', () => run('zip', async () => {
    const { zip } = await app.api.exportAdapter();
    download(zip, zipName(), 'application/zip');
  }));
  filesBtn.addEventListener('click', () => run('files', async () => {
    const { files } = await app.api.exportAdapter();
    for (const [name, bytes] of Object.entries(files)) {
      download(bytes, name, name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      await sleep(400); // browsers drop a second download started in the same instant
    }
  }));

  const ggufBtn = h('button', { type: 'button', dataset: { action: 'export-gguf' } }, 'Download GGUF adapter');
  ggufBtn.addEventListener('click', () => run('gguf', async () => {
    const { name, bytes } = await app.api.exportGguf();
    download(bytes, ggufAdapterName(namedRun(), store.get().model?.name ?? null, name), 'application/octet-stream');
  }));

  const dtypeId = uid('merged-dtype');
  const dtype = h('select', { id: dtypeId, name: 'merged-dtype' }, h('option', { value: 'F16' }, 'f16'), h('option', { value: 'BF16' }, 'bf16'));
  const mergedBtn = h('button', { type: 'button', dataset: { action: 'export-merged' } }, 'Download merged model');
  const mergedList = h('ul', { class: 'file-list', 'aria-live': 'polite' });
  mergedBtn.addEventListener('click', () => run('merged', async () => {
    fill(mergedList, h('li', { class: 'muted' }, 'Merging…'));
    const shards = await app.api.exportMerged(dtype.value as 'F16' | 'BF16');
    fill(mergedList, shards.map((s) => h('li', null, h('code', null, s.name), ` ${formatBytes(s.bytes.byteLength)}`)));
    for (const s of shards) {
      download(s.bytes, s.name, s.name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      await sleep(400);
    }
  }));

  const scriptBtn = h('button', { type: 'button', dataset: { action: 'export-script' } }, `Download ${SCRIPT_NAME}`);
  const scriptView = h('pre', { class: 'code', tabindex: 0 });
  const scriptBox = h('details', { hidden: true }, h('summary', null, 'Show the script'), scriptView);
  scriptBtn.addEventListener('click', () => run('script', async () => {
    const text = await app.api.exportScript(store.get().data?.fileName ?? store.get().dataInput?.fileName ?? 'data.json');
    scriptView.textContent = text;
    scriptBox.hidden = false;
    download(text, SCRIPT_NAME, 'text/x-python');
  }));

  const importId = uid('import');
  const importInput = h('input', { id: importId, type: 'file', multiple: true, accept: '.zip,.json,.safetensors', class: 'file-input', name: 'adapter-files' });
  const importBtn = h('button', { type: 'button', dataset: { action: 'import-adapter' } }, 'Import adapter');
  const importFiles = () => {
    const files = [...(importInput.files ?? [])];
    // Zips inflate in the worker: a zip bomb must not cost the page's main thread.
    const unzip = (zip: Uint8Array, name: string) => app.api.readAdapterZip(Comlink.transfer(zip, [zip.buffer as ArrayBuffer]), name);
    if (files.length) run('import', async () => app.importAdapter(await readAdapterFiles(files, unzip)));
  };
  importInput.addEventListener('change', importFiles);
  // With files chosen it imports them; without, it opens the picker (which imports on choosing).
  importBtn.addEventListener('click', () => (importInput.files?.length ? importFiles() : importInput.click()));
  const continueId = uid('continue');
  const continueBox = h('input', { id: continueId, type: 'checkbox', name: 'continue-from-imported' });
  continueBox.addEventListener('change', () => store.set({ continueFromImported: continueBox.checked }));
  const importStatus = h('p', { class: 'muted', 'aria-live': 'polite' });

  const render = () => {
    const s = store.get();
    zipBtn.title = s.hasAdapter ? `Saves ${zipName()}` : '';
    const blocked = s.run.state === 'training' || s.phase === 'loading';
    zipBtn.disabled = busy.has('zip') || blocked || !s.hasAdapter;
    filesBtn.disabled = busy.has('files') || blocked || !s.hasAdapter;
    ggufBtn.disabled = busy.has('gguf') || blocked || !s.hasAdapter || !app.hasModel();
    mergedBtn.disabled = busy.has('merged') || blocked || !s.hasAdapter || !app.hasModel();
    scriptBtn.disabled = busy.has('script') || s.phase === 'loading' || !s.run.id;
    importBtn.disabled = importInput.disabled = busy.has('import') || blocked;
    continueBox.checked = s.continueFromImported;
    continueBox.disabled = !s.imported || app.running();
    importStatus.textContent = s.imported ? `Imported: ${s.imported.name} (${formatBytes(s.imported.weights.byteLength)}).` : '';
  };
  store.subscribe(render);

  return panel('export', '6 · Export',
    'The adapter loads in Python with PeftModel.from_pretrained(base, "adapter/") — as if PEFT had trained it. For a Hub model the adapter and the script name its Hub id; for a URL or local model they say where the base came from and leave its path to fill in.',
    h('h3', null, 'Adapter'),
    h('div', { class: 'actions' }, zipBtn, filesBtn),
    h('p', { class: 'help' }, 'adapter_config.json and adapter_model.safetensors, the files PEFT reads and writes.'),
    hubPushSection(app),
    h('h3', null, 'llama.cpp, Ollama, LM Studio'),
    h('div', { class: 'actions' }, ggufBtn),
    h('p', { class: 'help' }, 'A GGUF LoRA adapter (f32), as llama.cpp\'s convert_lora_to_gguf.py writes it: load it next to a GGUF of the same base model with llama-cli --lora FILE, or ADAPTER ./FILE in an Ollama Modelfile.'),
    h('h3', null, 'Merged model'),
    h('div', { class: 'actions' }, h('label', { for: dtypeId }, 'Precision'), dtype, mergedBtn),
    h('p', { class: 'help' }, 'The base weights with the adapter folded in (W + scale·B·A), with its config and tokenizer, as one zip: unzip it and AutoModelForCausalLM.from_pretrained("the-folder") loads it (above 4 GiB the files come one by one).'),
    mergedList,
    h('h3', null, 'Python'),
    h('div', { class: 'actions' }, scriptBtn),
    h('p', { class: 'help' }, 'The same run in transformers + PEFT + bitsandbytes, to continue on a bigger GPU (after a run has started).'),
    scriptBox,
    h('h3', null, 'Import an adapter'),
    h('div', { class: 'field' }, h('label', { for: importId }, 'adapter_config.json + adapter_model.safetensors, or a zip of them'), importInput),
    h('div', { class: 'actions' }, importBtn),
    h('div', { class: 'field check' }, continueBox, h('label', { for: continueId }, 'Start the next training run from the imported adapter')),
    importStatus);
}
