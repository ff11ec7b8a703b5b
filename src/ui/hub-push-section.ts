// The Export panel's "Share on the Hugging Face Hub": the adapter's three files (weights, config, model
// card, as the zip download holds them) pushed to a new or existing Hub repo on the person's click, with
// progress and a link at the end (io/hub-push.ts does the pushing). The token is kept only when
// "Remember" is ticked — the page's one Hub token, shared with the Model panel. A refused push (bad
// token, no write access) is said here beside the button: it is no failure of the page or the run.
import { h, fill, uid } from './dom';
import { formatBytes } from './format';
import type { HubPushProgress } from '../io/hub-push';
import { HUB_ORIGIN } from '../io/hub';
import type { App } from './app';

const PHASE_TEXT: Record<HubPushProgress['phase'], string> = {
  creating: 'Creating the repo (or finding it)…',
  preuploading: 'Checking the files with the Hub…',
  uploading: 'Uploading',
  committing: 'Committing…',
  done: 'Done.',
};

function field(label: string, control: HTMLInputElement, help: string): HTMLElement {
  const helpId = uid('help');
  control.setAttribute('aria-describedby', helpId);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, h('small', { id: helpId, class: 'help' }, help));
}

export function hubPushSection(app: App): HTMLElement[] {
  const store = app.store;
  const repo = h('input', { id: uid('hub-repo'), name: 'hub-repo', placeholder: 'your-name/my-adapter', autocomplete: 'off', spellcheck: false });
  const token = h('input', { id: uid('hub-push-token'), name: 'hub-push-token', type: 'password', placeholder: 'hf_…', autocomplete: 'off', value: store.get().token });
  const rememberId = uid('hub-remember');
  const remember = h('input', { id: rememberId, type: 'checkbox', name: 'hub-remember-token', checked: app.rememberToken.value });
  const privateId = uid('hub-private');
  const isPrivate = h('input', { id: privateId, type: 'checkbox', name: 'hub-private' });
  const license = h('input', { id: uid('hub-license'), name: 'hub-license', placeholder: 'e.g. apache-2.0', autocomplete: 'off', spellcheck: false });
  const endpoint = h('input', { id: uid('hub-endpoint'), name: 'hub-endpoint', value: HUB_ORIGIN, autocomplete: 'off', spellcheck: false });
  const button = h('button', { type: 'button', class: 'primary', dataset: { action: 'push-to-hub' } }, 'Push to the Hub');
  const progress = h('progress', { max: 1, value: 0, hidden: true, class: 'hub-progress', 'aria-label': 'Push to the Hub' });
  const status = h('div', { class: 'hub-status', 'aria-live': 'polite' });
  let busy = false;

  const showProgress = (p: HubPushProgress) => {
    progress.hidden = false;
    progress.value = p.totalBytes ? p.sentBytes / p.totalBytes : 0;
    const text = p.phase === 'uploading' ? `Uploading ${formatBytes(p.sentBytes)} of ${formatBytes(p.totalBytes)}…` : PHASE_TEXT[p.phase];
    fill(status, h('p', { class: 'muted' }, text));
  };

  const push = async () => {
    const t = token.value.trim();
    // Kept only when asked; unticking after an earlier "remember" forgets the stored one.
    if (remember.checked || app.rememberToken.value) app.setToken(t, remember.checked);
    // @huggingface/hub loads on the first push: the page does not carry it for people who never share.
    const [{ pushToHub, cardWithLicense }, { files }] = await Promise.all([import('../io/hub-push'), app.api.exportAdapter()]);
    const id = license.value.trim();
    if (id) files['README.md'] = new TextEncoder().encode(cardWithLicense(new TextDecoder().decode(files['README.md']), id));
    const result = await pushToHub({ repo: repo.value, token: t, files, endpoint: endpoint.value.trim() || HUB_ORIGIN, ...(isPrivate.checked ? { private: true } : {}), onProgress: showProgress });
    fill(status, h('p', { class: 'ok-text', dataset: { hubPushed: result.repo } },
      `✓ ${result.created ? 'Created' : 'Updated'} `, h('a', { href: result.url, target: '_blank', rel: 'noopener', dataset: { hubLink: '' } }, result.url),
      ` with ${result.files.join(', ')}.`,
      result.commitUrl ? [' ', h('a', { href: result.commitUrl, target: '_blank', rel: 'noopener' }, 'The commit')] : null));
  };

  button.addEventListener('click', () => {
    if (busy) return;
    busy = true;
    render();
    fill(status, h('p', { class: 'muted' }, 'Preparing the adapter…'));
    push().catch((e: unknown) => {
      progress.hidden = true;
      const message = e instanceof Error ? e.message : String(e);
      console.warn(`Push to the Hub: ${message}`);
      fill(status, h('p', { class: 'callout error', role: 'alert', dataset: { hubError: '' } }, h('b', null, 'Not pushed: '), message));
    }).finally(() => {
      busy = false;
      render();
    });
  });

  const render = () => {
    const s = store.get();
    button.disabled = busy || !s.hasAdapter || s.run.state === 'training' || s.phase === 'loading';
    button.title = s.hasAdapter ? '' : 'Train or import an adapter first.';
    if (document.activeElement !== token && !token.value && s.token) token.value = s.token;
  };
  store.subscribe(render);

  return [
    h('h3', null, 'Share on the Hugging Face Hub'),
    h('form', { class: 'subfields hub-push', on: { submit: (e: Event) => e.preventDefault() } },
      field('Repo (owner/name)', repo, 'Your user name or an organisation, then the adapter\'s name. A new repo is created; an existing one gets a new commit.'),
      field('Hugging Face token', token, 'Needs write access (huggingface.co/settings/tokens). Sent only to the Hub, only when you click Push.'),
      h('div', { class: 'field check' }, remember, h('label', { for: rememberId }, 'Remember the token in this browser')),
      field('License (optional)', license, 'The license id for the model card, as the Hub lists them (apache-2.0, mit, llama3.2, other): usually the base model\'s.'),
      h('div', { class: 'field check' }, isPrivate, h('label', { for: privateId }, 'Make a new repo private')),
      h('details', null, h('summary', null, 'Hub address'), field('Address', endpoint, 'https://huggingface.co, or a private Hub or mirror (as HF_ENDPOINT).'))),
    h('div', { class: 'actions' }, button),
    h('p', { class: 'help' }, 'Pushes adapter_config.json, adapter_model.safetensors and README.md (the model card: base_model, library_name: peft, tags), so the Hub lists it as an adapter of its base model.'),
    progress,
    status,
  ];
}
