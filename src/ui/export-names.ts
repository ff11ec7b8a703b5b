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
 * `<model>-<dataset>-<run>-adapter.zip` for a run named "<model> · <dataset file>" (the worker's run
 * names) with id "run-<time>-<random>"; `<model>-adapter.zip` for an adapter with no run (imported);
 * `adapter.zip` when nothing is known.
 */
export function adapterZipName(run: { id: string; name: string } | null, modelName: string | null): string {
  const parts: string[] = [];
  if (run) {
    const [model, ...rest] = run.name.split(' · ');
    parts.push(modelStem(modelName ?? model));
    const data = rest.join('-').replace(/\.(jsonl?|ndjson|csv|tsv|txt|parquet)$/i, '');
    if (data) parts.push(slug(data));
    parts.push(slug(run.id.replace(/^run-/, '').split('-')[0]));
  } else if (modelName) parts.push(modelStem(modelName));
  const stem = parts.filter(Boolean).join('-');
  return stem ? `${stem}-adapter.zip` : 'adapter.zip';
}
