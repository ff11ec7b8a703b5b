// What a person types (or a link gives) for a model, read the way they meant it: a Hub id
// (`owner/name`, `huggingface.co/owner/name`, a Hub page URL with `/tree/<revision>`), a full http(s)
// URL, a bare host (`example.com/models/x`, taken as https), or a folder next to the page written as a
// path (`./models/x/`, `/models/x/`). Anything else is refused in words that say what to type — a
// bare `models/x/y` would otherwise be fetched as a path on the app's own server.

import { isHubId } from '../io/hub';

export type ModelInput =
  | { kind: 'hub'; id: string; revision: string | null }
  | { kind: 'url'; url: string }
  | { kind: 'invalid'; message: string };

const HUB_HOSTS = new Set(['huggingface.co', 'www.huggingface.co', 'hf.co']);
/** A host name with a dot (or localhost), optionally a port: `example.com`, `127.0.0.1:8000`. */
const BARE_HOST = /^(localhost|[\w-]+(\.[\w-]+)+)(:\d+)?(\/|$)/i;
const LOCAL_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;

const WHAT_TO_TYPE = 'Type a Hub model id (owner/name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct), or the full address of a folder that holds config.json, e.g. https://example.com/models/my-model/';

/** `owner/name` (and an optional revision) from a huggingface.co path, or null when it names no model. */
function hubFromPath(path: string): { id: string; revision: string | null } | null {
  const parts = path.split('/').filter(Boolean);
  if (parts.length < 2 || ['datasets', 'spaces', 'docs', 'models'].includes(parts[0])) return null;
  const id = `${parts[0]}/${parts[1]}`;
  if (!isHubId(id)) return null;
  // /owner/name/tree/<rev> and /owner/name/resolve/<rev>/… name a revision; /blob/… too.
  const revision = ['tree', 'resolve', 'blob'].includes(parts[2]) && parts[3] ? decodeURIComponent(parts[3]) : null;
  return { id, revision };
}

export function parseModelInput(raw: string): ModelInput {
  const text = raw.trim();
  if (text === '') return { kind: 'invalid', message: `No model given. ${WHAT_TO_TYPE}` };
  if (/\s/.test(text)) return { kind: 'invalid', message: `"${text}" has spaces, so it is neither a Hub id nor an address. ${WHAT_TO_TYPE}` };
  // "huggingface.co/Qwen" would pass as an id: a Hub host first is always an address.
  if (isHubId(text) && !HUB_HOSTS.has(text.split('/')[0].toLowerCase())) return { kind: 'hub', id: text, revision: null };
  // A path next to the page, written as one.
  if (/^\.{0,2}\//.test(text) && !text.startsWith('//')) return { kind: 'url', url: text };
  let href: string;
  if (/^https?:\/\//i.test(text)) href = text;
  else if (/^[a-z][\w+.-]*:/i.test(text) && !BARE_HOST.test(text)) {
    return { kind: 'invalid', message: `"${text}" is not an http(s) address: models are read over http or https. ${WHAT_TO_TYPE}` };
  } else if (BARE_HOST.test(text)) {
    const host = text.split('/')[0];
    href = `${LOCAL_HOST.test(host) ? 'http' : 'https'}://${text}`;
  } else {
    return { kind: 'invalid', message: `"${text}" is neither a Hub id (owner/name) nor an address (it has no host such as example.com). ${WHAT_TO_TYPE}` };
  }
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return { kind: 'invalid', message: `"${text}" is not a valid address. ${WHAT_TO_TYPE}` };
  }
  if (HUB_HOSTS.has(url.hostname.toLowerCase())) {
    const hub = hubFromPath(url.pathname);
    if (!hub) return { kind: 'invalid', message: `${url.href} is a Hugging Face page but not a model's: give the model's page, huggingface.co/owner/name.` };
    return { kind: 'hub', ...hub };
  }
  return { kind: 'url', url: url.href };
}
