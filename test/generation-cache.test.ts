// The generation cache per layer, chosen by the layer's token mixer (src/engine/generation-cache.ts): attention
// layers plan a KV cache of `capacity` rows, Gated DeltaNet layers a conv history and a recurrent state whose
// size does not grow with the sequence. Pure Node, no GPU.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../src/formats/model-config';
import { generationCachePlans } from '../src/engine/generation-cache';

const config = parseModelConfig(JSON.parse(readFileSync(new URL('./fixtures/tiny-qwen3_5/config.json', import.meta.url), 'utf8')));

describe('generation cache plan', () => {
  it('tiny-qwen3_5: three recurrent layers (conv 3 × 160 channels, state 4 × 24 × 16), then a KV cache', () => {
    const plans = generationCachePlans(config, 100);
    const linear = [
      { name: 'conv', floats: 3 * (2 * 2 * 24 + 4 * 16), group: 'generation conv state' },
      { name: 'state', floats: 4 * 24 * 16, group: 'generation recurrent state' },
    ];
    expect(plans.slice(0, 3)).toEqual([linear, linear, linear]);
    expect(plans[3]).toEqual([
      { name: 'k', floats: 100 * 2 * 32, group: 'generation KV cache' },
      { name: 'v', floats: 100 * 2 * 32, group: 'generation KV cache' },
    ]);
  });

  it('a recurrent layer does not grow with the capacity; sequences multiply every buffer', () => {
    expect(generationCachePlans(config, 4000)[0]).toEqual(generationCachePlans(config, 10)[0]);
    const two = generationCachePlans(config, 10, 2);
    expect(two.flat().map((b) => b.floats)).toEqual(generationCachePlans(config, 10).flat().map((b) => 2 * b.floats));
  });
});
