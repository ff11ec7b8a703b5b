// The named recipes (issue 19, "Presets that teach"): each one is valid under the one settings validator,
// sets what it says, keeps the person's dataset and model (the chat preset picks its own), does not
// carry settings over from the preset before, and survives a shareable link.
import { describe, it, expect } from 'vitest';
import { applyPreset, findPreset, matchingPreset, RUN_PRESETS } from '../src/engine/run-presets';
import { DEFAULT_SETTINGS, validateSettings } from '../src/engine/run-settings';
import { queryNamesModel, settingsFromQuery, settingsToQuery } from '../src/ui/settings-query';
import type { RunSettings } from '../src/engine/run-settings';
import { ATTENTION_MODULES, LORA_MODULES } from '../src/engine/lora';

const mine: RunSettings = { ...DEFAULT_SETTINGS, model: 'HuggingFaceTB/SmolLM2-135M-Instruct', data: 'https://example.com/my.jsonl', format: 'chat', limit: 500, seed: 7, steps: 40, patience: 9 };

describe('run presets', () => {
  it('has the four recipes, each with one line on why', () => {
    expect(RUN_PRESETS.map((p) => p.id)).toEqual(['chat-assistant', 'classifier', 'style-persona', 'small-gpu']);
    for (const p of RUN_PRESETS) {
      expect(p.why, p.id).not.toContain('\n');
      expect(p.why.length, p.id).toBeGreaterThan(60);
      expect(p.label.length, p.id).toBeGreaterThan(3);
    }
  });

  it.each(RUN_PRESETS.map((p) => [p.id, p] as const))('%s is valid, sets its recipe and keeps the dataset', (_, preset) => {
    const s = applyPreset(mine, preset);
    expect(validateSettings(s)).toBe(s);
    for (const [k, v] of Object.entries(preset.settings)) expect(s[k as keyof RunSettings], k).toEqual(v);
    expect([s.data, s.format, s.limit, s.seed]).toEqual([mine.data, mine.format, mine.limit, mine.seed]);
    // Steps come from epochs again, and early stopping is the preset's (or off): nothing left from before.
    expect(s.steps).toBeNull();
    expect(s.patience).toBe(preset.settings.patience ?? 0);
    expect(matchingPreset(s)).toBe(preset);
    // A shareable link carries the preset's settings exactly.
    expect(settingsFromQuery(settingsToQuery(s)).settings).toEqual(s);
  });

  it('sets what each recipe is about', () => {
    const get = (id: string) => applyPreset(mine, findPreset(id)!);
    const chat = get('chat-assistant');
    expect(chat.model).toBe('Qwen/Qwen3-0.6B');
    expect([chat.loraR, chat.loraAlpha, chat.target, chat.quant]).toEqual([16, 32, [...LORA_MODULES], 'nf4']);
    const cls = get('classifier');
    expect(cls.model).toBe(mine.model);
    expect([cls.maxLength, cls.valSplit, cls.patience]).toEqual([256, 0.2, 3]);
    const style = get('style-persona');
    expect([style.loraR, style.target, style.lr, style.loraDropout]).toEqual([8, [...ATTENTION_MODULES], 1e-4, 0.1]);
    const small = get('small-gpu');
    expect([small.batchSize, small.gradAccum, small.maxLength, small.gradientCheckpointing, small.quant]).toEqual([1, 8, 256, true, 'nf4']);
    // One preset after another: the classifier's early stopping does not stay on under the laptop preset.
    expect(applyPreset(cls, findPreset('small-gpu')!).patience).toBe(0);
    expect(matchingPreset(DEFAULT_SETTINGS)).toBeNull();
  });
});

describe('a preset in a link', () => {
  it('preset=<id> applies the recipe first, the link\'s other settings on top, wherever it stands', () => {
    const cls = applyPreset(DEFAULT_SETTINGS, findPreset('classifier')!);
    expect(settingsFromQuery('preset=classifier').settings).toEqual(cls);
    const mineOnTop = { ...cls, lr: 3e-4, data: 'https://example.com/d.jsonl' };
    expect(settingsFromQuery('lr=3e-4&preset=classifier&data=https%3A%2F%2Fexample.com%2Fd.jsonl').settings).toEqual(mineOnTop);
    expect(settingsFromQuery('preset=classifier&patience=0').settings.patience).toBe(0);
    expect(settingsFromQuery('preset=small-gpu&autostart=1')).toEqual({ settings: applyPreset(DEFAULT_SETTINGS, findPreset('small-gpu')!), autostart: true });
    // The link's values are checked as any others: the preset does not excuse a bad one.
    expect(() => settingsFromQuery('preset=classifier&batchSize=0')).toThrow(/batchSize/);
  });

  it('an unknown preset is refused with the list', () => {
    expect(() => settingsFromQuery('preset=chat')).toThrow(/Setting "preset": "chat" is not a preset\. Known: chat-assistant, classifier, style-persona, small-gpu/);
    expect(() => settingsFromQuery('presets=chat')).toThrow(/Known: preset, autostart, gpu-memory, model/);
  });

  it('a copied link names the preset its settings are, then what differs from it', () => {
    const style = applyPreset(mine, findPreset('style-persona')!);
    const q = settingsToQuery(style);
    expect(q).toMatch(/^preset=style-persona&/);
    expect(q).not.toMatch(/loraR|target|lr=/); // the recipe's own values are in the name
    expect(settingsFromQuery(q).settings).toEqual(style);
    // Edited after the preset: no longer the recipe, so the link lists every difference from the defaults.
    expect(settingsToQuery({ ...style, loraR: 4 })).not.toContain('preset=');
    expect(settingsToQuery(applyPreset(DEFAULT_SETTINGS, findPreset('small-gpu')!))).toBe('preset=small-gpu');
  });

  it('the chat preset names its model, so a remembered model does not replace it', () => {
    expect(queryNamesModel('preset=chat-assistant')).toBe(true);
    expect(queryNamesModel('preset=classifier')).toBe(false);
    expect(queryNamesModel('preset=classifier&model=owner%2Fname')).toBe(true);
  });
});

