// File names for the page's downloads, after the run and its model (issue 19, point 8): a folder of
// downloads from several runs stays readable, where every one used to be "adapter.zip".

/** Letters, digits, '.', '_' and '-' only; runs of anything else become one '-'. */
function slug(text: string): string {
  return text.replace(/[^\w.-]+/g, '-').replace(/-{2,}/g, '-').replace(/^[-.]+|[-.]+$/g, '');
}

/** A model name without its owner (`HuggingFaceTB/SmolLM2-135M` → `SmolLM2-135M`). */
function modelStem(model: string): string {
  return slug(model.split('/').filter(Boolean).pop() ?? model);
}

/**
 * The stem of a run's downloads: `<model>-<dataset>-<run>` for a run named "<model> · <dataset file>"
 * (the worker's run names) with id "run-<time>-<random>"; `<model>-<name>` for a run the person renamed;
 * `<model>` for an adapter with no run (imported); '' when nothing is known.
 */
export function runFileStem(run: { id: string; name: string } | null, modelName: string | null): string {
  const parts: string[] = [];
  const renamed = run && !run.name.includes(' · ') && run.name.trim() !== '' && run.name !== modelName;
  if (run && renamed) {
    parts.push(modelName ? modelStem(modelName) : '', slug(run.name));
  } else if (run) {
    const [model, ...rest] = run.name.split(' · ');
    parts.push(modelStem(modelName ?? model));
    const data = rest.join('-').replace(/\.(jsonl?|ndjson|csv|tsv|txt|parquet)$/i, '');
    if (data) parts.push(slug(data));
    parts.push(slug(run.id.replace(/^run-/, '').split('-')[0]));
  } else if (modelName) parts.push(modelStem(modelName));
  return parts.filter(Boolean).join('-');
}

/** `<stem>-adapter.zip` (see runFileStem), `adapter.zip` when nothing is known. */
export function adapterZipName(run: { id: string; name: string } | null, modelName: string | null): string {
  const stem = runFileStem(run, modelName);
  return stem ? `${stem}-adapter.zip` : 'adapter.zip';
}

/** `<stem>-lora-f32.gguf`, the suffix convert_lora_to_gguf.py gives an adapter; the worker's own name when nothing is known. */
export function ggufAdapterName(run: { id: string; name: string } | null, modelName: string | null, fallback: string): string {
  const stem = runFileStem(run, modelName);
  return stem ? `${stem}-lora-f32.gguf` : fallback;
}
