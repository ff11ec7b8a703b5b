// Reading weights saved in bitsandbytes' 4-bit serialization (what `model.save_pretrained()` writes for
// a load_in_4bit model): `W.weight` U8 [n/2, 1] packed NF4, `W.weight.absmax` (U8 codes with double
// quantization, else F32), `W.weight.nested_absmax`, `W.weight.nested_quant_map`, `W.weight.quant_map`,
// and `W.weight.quant_state.bitsandbytes__nf4` (JSON: shape, blocksize, nested_offset, ...).
import { QloraError } from '../errors';
import type { Nf4Weight } from '../quant/nf4';
import { NF4_LEVELS } from '../quant/code-tables';
import type { TensorSource } from './tensor-source';

interface QuantStateJson {
  quant_type: string;
  blocksize: number;
  shape: number[];
  nested_blocksize?: number;
  nested_offset?: number;
}

const STATE_SUFFIX = '.quant_state.bitsandbytes__nf4';

/** Whether `name` (e.g. "model.layers.0.mlp.up_proj.weight") is stored in bitsandbytes 4-bit form. */
export function isBnb4bit(src: TensorSource, name: string): boolean {
  return src.has(name + STATE_SUFFIX);
}

export function readBnbNf4(src: TensorSource, name: string): Nf4Weight {
  const where = `${src.description}: "${name}"`;
  const bad = (what: string): never => {
    throw new QloraError('WEIGHTS_CORRUPT', `${where} is not a valid bitsandbytes 4-bit weight: ${what}`, { tensor: name });
  };
  const finite = (values: Float32Array, part: string, bound = Infinity) => {
    const i = values.findIndex((v) => !(Math.abs(v) <= bound));
    if (i >= 0) bad(`${part}[${i}] is ${values[i]}${bound === Infinity ? '' : `, outside [-${bound}, ${bound}]`}; the checkpoint is damaged, download it again`);
  };
  let state: QuantStateJson;
  try {
    state = JSON.parse(new TextDecoder().decode(src.bytes(name + STATE_SUFFIX))) as QuantStateJson;
  } catch {
    return bad('its quant_state is not JSON');
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return bad(`its quant_state is ${JSON.stringify(state)}, not an object`);
  if (state.quant_type !== 'nf4') {
    throw new QloraError('CONFIG_INVALID', `${where} uses bitsandbytes quant_type "${state.quant_type}"; only nf4 is supported.`);
  }
  const shape = state.shape;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d > 0)) bad(`shape ${JSON.stringify(shape)} is not [out, in]`);
  const blocksize = state.blocksize;
  if (!Number.isInteger(blocksize) || blocksize <= 0 || blocksize % 2) bad(`blocksize ${blocksize}`);
  const n = shape[0] * shape[1];
  const nBlocks = Math.ceil(n / blocksize);
  const packed = src.bytes(name);
  if (packed.length !== Math.ceil(n / 2)) bad(`${packed.length} packed bytes for ${n} values (expected ${Math.ceil(n / 2)})`);
  const quantMap = src.float32(name + '.quant_map');
  if (quantMap.length !== 16 || quantMap.some((v, i) => v !== NF4_LEVELS[i])) bad('quant_map is not the NF4 table');

  const absInfo = src.info(name + '.absmax');
  let absmax: Nf4Weight['absmax'];
  if (absInfo.dtype === 'U8') {
    const codes = src.bytes(name + '.absmax');
    const nestedAbsmax = src.float32(name + '.nested_absmax');
    const code = src.float32(name + '.nested_quant_map');
    const nestedBlocksize = state.nested_blocksize ?? 256;
    const offset = state.nested_offset;
    if (codes.length !== nBlocks) bad(`${codes.length} absmax codes for ${nBlocks} blocks`);
    if (nestedAbsmax.length !== Math.ceil(nBlocks / nestedBlocksize)) bad(`${nestedAbsmax.length} nested absmax for ${nBlocks} blocks of ${nestedBlocksize}`);
    if (code.length !== 256) bad(`nested_quant_map has ${code.length} entries, expected 256`);
    if (typeof offset !== 'number' || !Number.isFinite(offset)) bad('nested_offset missing from quant_state');
    if (!Number.isInteger(nestedBlocksize) || nestedBlocksize <= 0) bad(`nested_blocksize ${JSON.stringify(nestedBlocksize)}`);
    // The nested map is bitsandbytes' signed dynamic map: 256 finite codes in [-1, 1]. A NaN there or
    // in nested_absmax would turn every weight of the block into NaN and the loss into null.
    finite(code, 'nested_quant_map', 1);
    finite(nestedAbsmax, 'nested_absmax');
    absmax = { codes: codes.slice(), nestedAbsmax, offset: Math.fround(offset as number), code, nestedBlocksize };
  } else {
    const a = src.float32(name + '.absmax');
    if (a.length !== nBlocks) bad(`${a.length} absmax values for ${nBlocks} blocks`);
    finite(a, 'absmax');
    absmax = a;
  }
  return { shape: [shape[0], shape[1]], packed: packed.slice(), blocksize, absmax };
}
