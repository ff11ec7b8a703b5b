// Playground and evaluation: one prompt answered by the base model and by the fine-tuned one side
// by side, streaming as tokens come (greedy or sampled); and the held-out validation records scored
// with BLEU and ROUGE-1/2/L/Lsum (rouge-score's, as HF evaluate reports them) next to the validation loss, with the samples to read.
import * as Comlink from 'comlink';
import { h, fill, uid } from '../dom';
import { formatLoss } from '../format';
import type { App } from '../app';
import type { EvalReport, GenerationRequest } from '../../worker/protocol';
import { metric, panel } from './panel';
import { DEMO_PROMPT } from '../model-source';

function labelled(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, help?: string): HTMLElement {
  const id = uid('pg');
  control.id = id;
  return h('div', { class: control instanceof HTMLInputElement && control.type === 'checkbox' ? 'field check' : 'field' },
    control instanceof HTMLInputElement && control.type === 'checkbox' ? [control, h('label', { for: id }, label)] : [h('label', { for: id }, label), control],
    help ? h('small', { class: 'help' }, help) : null);
}

function evalView(r: EvalReport, valLoss: number | undefined): HTMLElement {
  return h('div', { class: 'eval-report' },
    h('div', { class: 'metrics' },
      metric('BLEU', r.bleu.toFixed(1), { metric: 'bleu' }),
      metric('ROUGE-1', r.rouge1.toFixed(3), { metric: 'rouge-1' }),
      metric('ROUGE-2', r.rouge2.toFixed(3), { metric: 'rouge-2' }),
      metric('ROUGE-L', r.rougeL.toFixed(3), { metric: 'rouge-l' }),
      metric('ROUGE-Lsum', r.rougeLsum.toFixed(3), { metric: 'rouge-lsum' }),
      metric('Validation loss', formatLoss(valLoss))),
    h('details', null,
      h('summary', null, `${r.samples.length} samples`),
      h('div', { class: 'table-wrap' }, h('table', { class: 'samples' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Prompt'), h('th', { scope: 'col' }, 'Reference'), h('th', { scope: 'col' }, 'Fine-tuned output'))),
        h('tbody', null, r.samples.map((x) => h('tr', null, h('td', null, x.prompt), h('td', null, x.reference), h('td', null, x.output))))))));
}

export function playgroundPanel(app: App): HTMLElement {
  const store = app.store;
  const prompt = h('textarea', { rows: 3, name: 'prompt', value: DEMO_PROMPT });
  const template = h('select', { name: 'template' },
    h('option', { value: 'alpaca' }, 'Alpaca instruction'),
    h('option', { value: 'chat' }, "The model's chat template"),
    h('option', { value: 'none' }, 'None (raw text)'));
  const maxTokens = h('input', { type: 'number', min: '1', max: '2048', value: '64', name: 'max-new-tokens' });
  const greedy = h('input', { type: 'checkbox', checked: true, name: 'greedy' });
  const temperature = h('input', { type: 'number', min: '0.05', max: '2', step: '0.05', value: '0.7', name: 'temperature' });
  const topP = h('input', { type: 'number', min: '0.05', max: '1', step: '0.05', value: '0.9', name: 'top-p' });
  const seed = h('input', { type: 'number', min: '0', step: '1', value: '0', name: 'gen-seed' });
  const sampling = h('div', { class: 'grid-3' },
    labelled('Temperature', temperature), labelled('Top-p', topP), labelled('Seed', seed));
  greedy.addEventListener('change', () => (sampling.hidden = greedy.checked));
  sampling.hidden = true;

  const baseOut = h('output', { class: 'gen-out', 'aria-label': 'Base model output' });
  const tunedOut = h('output', { class: 'gen-out', 'aria-label': 'Fine-tuned model output' });
  const genStatus = h('p', { class: 'muted', role: 'status' });
  let generating = false;

  const generateBtn = h('button', { type: 'button', class: 'primary', dataset: { action: 'generate' } }, 'Generate');
  const stopBtn = h('button', { type: 'button', disabled: true, on: { click: () => void app.guard(() => app.api.stopGeneration(), { fatal: false }) } }, 'Stop generating');

  const request = (withAdapter: boolean): GenerationRequest => ({
    prompt: prompt.value,
    template: template.value as GenerationRequest['template'],
    maxNewTokens: Math.max(1, Math.min(2048, Math.round(Number(maxTokens.value) || 64))),
    greedy: greedy.checked,
    temperature: Number(temperature.value) || 0.7,
    topP: Number(topP.value) || 0.9,
    seed: Math.max(0, Math.round(Number(seed.value) || 0)),
    withAdapter,
  });

  const stream = async (out: HTMLElement, req: GenerationRequest) => {
    out.textContent = '';
    out.setAttribute('aria-busy', 'true');
    const onToken = Comlink.proxy((t: string) => {
      out.textContent += t;
    });
    try {
      // The full text replaces the streamed pieces: the final decode is authoritative.
      const text = await app.api.generate(req, onToken);
      out.textContent = text;
      if (text === '') out.append(h('span', { class: 'muted' }, '(no text: the model ended its answer at once)'));
    } finally {
      out.removeAttribute('aria-busy');
    }
  };

  const generateBoth = () => {
    if (generating || !prompt.value.trim()) return;
    generating = true;
    render();
    void app.guard(async () => {
      try {
        if (!app.hasModel()) {
          genStatus.textContent = 'Loading the model…';
          await app.loadModel();
          if (!app.hasModel()) return;
        }
        genStatus.textContent = 'Base model…';
        await stream(baseOut, request(false));
        if (store.get().hasAdapter) {
          genStatus.textContent = 'Fine-tuned model…';
          await stream(tunedOut, request(true));
        } else {
          tunedOut.textContent = 'No adapter yet: train one, or import one in the Export panel.';
        }
        genStatus.textContent = 'Done.';
      } finally {
        generating = false;
        render();
      }
    }, { fatal: false }).then(() => {
      if (genStatus.textContent !== 'Done.') genStatus.textContent = '';
    });
  };
  generateBtn.addEventListener('click', generateBoth);

  // The demo's payoff: when its run finishes, the base and the fine-tuned answers to its question
  // appear side by side by themselves (no scroll and no click needed).
  store.subscribe((s, prev) => {
    if (!app.demoRun.pending || s.run.state === prev.run.state) return;
    if (s.run.state === 'done') {
      app.demoRun.pending = false;
      prompt.value = DEMO_PROMPT;
      template.value = 'alpaca';
      greedy.checked = true;
      sampling.hidden = true;
      // After the worker has handed back the finished run.
      setTimeout(() => {
        document.getElementById('playground')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
        generateBoth();
      }, 0);
    } else if (s.run.state === 'stopped' || s.run.state === 'early-stopped') app.demoRun.pending = false;
  });

  // ——— evaluation ———
  const samples = h('input', { type: 'number', min: '1', max: '500', value: '20', name: 'eval-samples' });
  const evalTokens = h('input', { type: 'number', min: '1', max: '1024', value: '64', name: 'eval-max-new-tokens' });
  const evaluateBtn = h('button', { type: 'button', dataset: { action: 'evaluate' } }, 'Evaluate');
  const evalOut = h('div', { 'aria-live': 'polite' });
  const patienceNote = h('p', { class: 'muted' });
  let evaluating = false;
  evaluateBtn.addEventListener('click', () => {
    if (evaluating) return;
    evaluating = true;
    render();
    fill(evalOut, h('p', { class: 'muted' }, 'Generating answers for the validation records…'));
    void app.guard(async () => {
      try {
        const report = await app.api.evaluateGenerations(Math.max(1, Number(samples.value) || 20), Math.max(1, Number(evalTokens.value) || 64));
        const vals = store.get().run.history.filter((p) => p.valLoss !== undefined);
        fill(evalOut, evalView(report, vals[vals.length - 1]?.valLoss));
      } catch (e) {
        fill(evalOut);
        throw e;
      } finally {
        evaluating = false;
        render();
      }
    }, { fatal: false });
  });

  const render = () => {
    const s = store.get();
    // Generation shares the GPU with training: allowed while paused (see what it has learned so far).
    const busy = s.run.state === 'training' || s.phase === 'loading';
    generateBtn.disabled = generating || busy;
    stopBtn.disabled = !generating;
    evaluateBtn.disabled = evaluating || busy || !s.data;
    patienceNote.textContent = s.settings.patience > 0
      ? `Early stopping is on: a run stops after ${s.settings.patience} validations without a better loss (every ${s.settings.evalEvery} steps).`
      : 'Early stopping is off (Settings → Early-stopping patience).';
    if (s.data?.format === 'chat' && template.value === 'alpaca' && !template.dataset.touched) template.value = 'chat';
  };
  template.addEventListener('change', () => (template.dataset.touched = '1'));
  store.subscribe(render);

  return panel('playground', '5 · Playground & evaluation',
    'Ask the base model and the fine-tuned model the same thing.',
    labelled('Prompt', prompt),
    h('div', { class: 'grid-3' }, labelled('Template', template), labelled('Max new tokens', maxTokens), labelled('Greedy (always the most likely token)', greedy)),
    sampling,
    h('div', { class: 'actions' }, generateBtn, stopBtn, genStatus),
    h('div', { class: 'side-by-side' },
      h('div', null, h('h3', null, 'Base model'), baseOut),
      h('div', null, h('h3', null, 'Fine-tuned'), tunedOut)),
    h('h3', null, 'Evaluation on the validation split'),
    h('div', { class: 'grid-3' }, labelled('Samples', samples), labelled('Max new tokens', evalTokens), h('div', { class: 'field end' }, evaluateBtn)),
    patienceNote,
    evalOut);
}
