// The exported script's data section: the dataset read as the browser reads it (src/data/dataset-text.ts:
// JSON, JSON Lines with bad lines kept apart, CSV/TSV by header, plain text by blank-line blocks, Parquet),
// each record's fields taken through the same column mapping, and the rows the browser cannot use found
// by the same checks (src/data/records.ts) and skipped (or refused, as the browser run refused them), so
// the script trains on the records the browser trained on instead of failing in load_dataset.
// Then the same formatting and loss masks as src/data/examples.ts.
import type { ColumnMapping } from '../data/columns';
import { formatColumnMapping } from '../data/columns';
import { CHAT_ROLES } from '../data/chat-template';
import { ALPACA_PROMPT_INPUT, ALPACA_PROMPT_NO_INPUT } from '../data/examples';
import type { DatasetFormat } from '../data/records';

/** A row the browser run skipped, where the file shows it. */
export interface SkippedRow {
  line?: number;
  index?: number;
  reason: string;
}

export interface ExportedData {
  readonly dataFileName: string;
  readonly format: DatasetFormat;
  readonly columns?: ColumnMapping;
  /** Keep the first N records (the browser's `limit`); all when absent. */
  readonly limit?: number | null;
  /** 'skip': rows that cannot be used are left out, as the browser left them out; 'stop': refused. */
  readonly onInvalid?: 'stop' | 'skip';
  /** The rows the browser skipped, named in a comment so a person can see the script skips the same. */
  readonly skipped?: readonly SkippedRow[];
}

const str = (s: string) => JSON.stringify(s);
const comment = (text: string) => text.replace(/[\r\n\u2028\u2029\u0085]+/g, ' ');
const SHOWN_SKIPPED = 10;

/** The settings lines of the data: COLUMNS, LIMIT, SKIP_INVALID, with the browser's skipped rows. */
export function dataSettingsLines(d: ExportedData): string[] {
  const columns = d.columns ?? {};
  const pairs = Object.entries(columns).map(([field, column]) => `${str(field)}: ${str(column as string)}`);
  const skipped = d.skipped ?? [];
  const where = (r: SkippedRow) => (r.line !== undefined ? `line ${r.line}` : `record #${r.index ?? '?'}`);
  return [
    `# Which column of DATA_FILE holds each record field (the browser's column mapping${pairs.length ? `: ${comment(formatColumnMapping(columns))}` : ', none: own names'}).`,
    `COLUMNS = {${pairs.join(', ')}}`,
    `LIMIT = ${d.limit ? String(d.limit) : 'None'}  # the first N records only (None: all)`,
    ...(skipped.length
      ? [`# The browser skipped ${skipped.length} row(s) of this file that cannot be used; read_records() and usable_record()`,
         '# below find them by the same checks and skip them here too:',
         ...skipped.slice(0, SHOWN_SKIPPED).map((r) => `#   ${where(r)}: ${comment(r.reason)}`),
         ...(skipped.length > SHOWN_SKIPPED ? [`#   … and ${skipped.length - SHOWN_SKIPPED} more`] : [])]
      : ['# Rows that cannot be used (bad JSON, missing or empty fields) are found by the browser\'s checks below.']),
    `SKIP_INVALID = ${d.onInvalid === 'skip' ? 'True' : 'False'}  # True: skip them, as the browser did; False: stop and list them`,
  ];
}

function loaderBlock(fileName: string): string {
  const ext = fileName.toLowerCase().split('.').pop() ?? '';
  if (ext === 'parquet') {
    return `    # Parquet: every row is a record.
    return [(i + 1, r) for i, r in enumerate(load_dataset("parquet", data_files=DATA_FILE, split="train").to_list())], []`;
  }
  if (ext === 'csv' || ext === 'tsv') {
    return `    # CSV / TSV: a header row names the fields; a row with another number of fields is a bad line.
    with open(DATA_FILE, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=${ext === 'tsv' ? '"\\t"' : '","'})
        rows = [(reader.line_num, row) for row in reader if row]
    if not rows:
        return [], []
    header = [name.strip() for name in rows[0][1]]
    records, bad = [], []
    for line, row in rows[1:]:
        if len(row) == len(header):
            records.append((line, dict(zip(header, row))))
        else:
            bad.append((line, f"expected {len(header)} fields, found {len(row)}"))
    return records, bad`;
  }
  if (/^(txt|text|md)$/.test(ext)) {
    return `    # Plain text: one {"text"} record per block of lines separated by a blank line.
    with open(DATA_FILE, encoding="utf-8-sig") as f:
        blocks = re.split(r"\\n[ \\t]*\\n", f.read().replace("\\r\\n", "\\n").replace("\\r", "\\n"))
    return [(None, {"text": b.strip("\\n")}) for b in blocks if b.strip()], []`;
  }
  return `    # JSON: a list of records, or one object; else JSON Lines, whose unreadable lines are kept apart.
    with open(DATA_FILE, encoding="utf-8-sig") as f:
        text = f.read()
    try:
        value = json.loads(text)
        return [(None, r) for r in (value if isinstance(value, list) else [value])], []
    except json.JSONDecodeError as e:
        if text.lstrip().startswith("["):
            return [], [(e.lineno, f"not valid JSON: {e.msg}")]
    records, bad = [], []
    for line, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            try:
                records.append((line, json.loads(raw)))
            except json.JSONDecodeError as e:
                bad.append((line, f"not valid JSON: {e.msg}"))
    return records, bad`;
}

/** Python's imports the data section adds. */
export const DATA_IMPORTS = 'import csv\nimport json\nimport re\n';

export function dataBlock(d: ExportedData): string {
  return `# ---- data: the browser's records (same reading, column mapping and skipped rows), formatting and loss masks ----
# Stanford Alpaca's PROMPT_DICT, verbatim.
PROMPT_INPUT = ${str(ALPACA_PROMPT_INPUT)}
PROMPT_NO_INPUT = ${str(ALPACA_PROMPT_NO_INPUT)}
CHAT_ROLES = (${CHAT_ROLES.map(str).join(', ')})


def read_records():
    """(line or None, record) for every record of DATA_FILE, and (line, reason) for each line that
    cannot be read, as the browser reads the file."""
${loaderBlock(d.dataFileName)}


def field(record, name):
    """A record field, read from the column COLUMNS names for it."""
    return record.get(COLUMNS.get(name, name)) if isinstance(record, dict) else None


def non_empty(value):
    return isinstance(value, str) and value.strip() != ""


def usable_record(record):
    """The record's fields under their own names, or None where the browser cannot use it (its checks:
    fields present and strings, nothing to learn when the target is empty, chat roles known and the
    last message the assistant's)."""
    if DATA_FORMAT == "text":
        text = record if isinstance(record, str) else field(record, "text")
        return {"text": text} if non_empty(text) else None
    if DATA_FORMAT == "alpaca":
        instruction, output, given = field(record, "instruction"), field(record, "output"), field(record, "input")
        if not (non_empty(instruction) and non_empty(output)) or not (given is None or isinstance(given, str)):
            return None
        return {"instruction": instruction, "input": given or "", "output": output}
    if DATA_FORMAT == "completion":
        prompt, completion = field(record, "prompt"), field(record, "completion")
        return {"prompt": prompt, "completion": completion} if isinstance(prompt, str) and non_empty(completion) else None
    messages = field(record, "messages")
    if not isinstance(messages, list) or not messages:
        return None
    if not all(isinstance(m, dict) and m.get("role") in CHAT_ROLES and isinstance(m.get("content"), str) for m in messages):
        return None
    if messages[-1]["role"] != "assistant" or not non_empty(messages[-1]["content"]):
        return None
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}


def usable_records():
    """The records the browser trained on: read, cut to LIMIT, checked; the others skipped (SKIP_INVALID)
    or listed in a refusal."""
    records, bad = read_records()
    records = records[:LIMIT] if LIMIT else records
    usable = []
    for index, (line, record) in enumerate(records):
        checked = usable_record(record)
        if checked is None:
            bad.append((line, f"record #{index} does not have the {DATA_FORMAT} fields (COLUMNS names them)"))
        else:
            usable.append(checked)
    if bad and not SKIP_INVALID:
        listed = "; ".join(f"line {line}: {reason}" if line else reason for line, reason in bad[:5])
        raise SystemExit(f"{DATA_FILE}: {len(bad)} row(s) cannot be used ({listed}). Fix them, or set SKIP_INVALID = True.")
    if bad:
        print(f"{DATA_FILE}: skipped {len(bad)} row(s) that cannot be used, as the browser did")
    if not usable:
        raise SystemExit(f"{DATA_FILE}: no record has the {DATA_FORMAT} fields: set COLUMNS to the dataset's column names.")
    return usable


def masked(tokenizer, prefix, full, add_special_tokens):
    """tokenize(full), cut to MAX_LENGTH, labels -100 on as many tokens as tokenize(prefix) has: the
    browser's masking (Stanford Alpaca's train.py), token for token."""
    ids = tokenizer(full, add_special_tokens=add_special_tokens)["input_ids"][:MAX_LENGTH]
    n = len(tokenizer(prefix, add_special_tokens=add_special_tokens)["input_ids"])
    return {"input_ids": ids, "labels": [-100 if t < n else i for t, i in enumerate(ids)]}


def to_training_example(record, tokenizer):
    """One record as input_ids and labels (-100 where no loss), tokenized here so SFTTrainer trains on
    exactly what the browser trained on (it takes a pre-tokenized labels column as it is)."""
    eos = tokenizer.eos_token
    if DATA_FORMAT == "alpaca":
        # Loss on the response and the EOS after it, not on the prompt.
        has_input = (record.get("input") or "") != ""
        prompt = (PROMPT_INPUT if has_input else PROMPT_NO_INPUT).format_map(record)
        return masked(tokenizer, prompt, prompt + record["output"] + eos, True)
    if DATA_FORMAT == "chat":
        # The chat template writes any BOS itself; loss on the last (assistant) message only.
        messages = record["messages"]
        prefix = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        return masked(tokenizer, prefix, full, False)
    if DATA_FORMAT == "completion":
        return masked(tokenizer, record["prompt"], record["prompt"] + record["completion"] + eos, True)
    # text: loss on every token, EOS appended.
    ids = tokenizer(record["text"] + eos)["input_ids"][:MAX_LENGTH]
    return {"input_ids": ids, "labels": list(ids)}


def load_data(tokenizer):
    dataset = Dataset.from_list([to_training_example(r, tokenizer) for r in usable_records()])
    # As the browser refuses them: an example with nothing left to learn after the cut.
    dataset = dataset.filter(lambda e: any(label != -100 for label in e["labels"][1:]))
    # As the browser splits: none held out below 10 examples, and at most VAL_MAX.
    n_val = min(int(len(dataset) * VAL_SPLIT), VAL_MAX) if len(dataset) >= 10 else 0
    if n_val > 0:
        parts = dataset.train_test_split(test_size=n_val, seed=SEED)
        return parts["train"], parts["test"]
    return dataset, None
`;
}
