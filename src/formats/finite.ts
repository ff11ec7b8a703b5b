// NaN / Inf in stored float tensors, found on the raw bits (no float copy): an exponent of all ones.
// A single NaN in a norm, an embedding row or a bitsandbytes absmax turns the loss into NaN, which
// JSON writes as null; refusing at load names the tensor instead.
import { QloraError } from '../errors';
import type { Dtype } from './dtype';

/** Index of the first NaN/±Inf element of a little-endian F32/F16/BF16/F64 tensor, or -1 (also for other dtypes). */
export function firstNonFinite(dtype: Dtype, bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      for (let i = 0, n = bytes.length >> 2; i < n; i++) if ((view.getUint32(i * 4, true) & 0x7f800000) === 0x7f800000) return i;
      return -1;
    case 'F16':
      for (let i = 0, n = bytes.length >> 1; i < n; i++) if ((view.getUint16(i * 2, true) & 0x7c00) === 0x7c00) return i;
      return -1;
    case 'BF16':
      for (let i = 0, n = bytes.length >> 1; i < n; i++) if ((view.getUint16(i * 2, true) & 0x7f80) === 0x7f80) return i;
      return -1;
    case 'F64':
      for (let i = 0, n = bytes.length >> 3; i < n; i++) if ((view.getUint32(i * 8 + 4, true) & 0x7ff00000) === 0x7ff00000) return i;
      return -1;
    default:
      return -1;
  }
}

/** Throws WEIGHTS_CORRUPT naming the tensor when it holds a NaN or an infinity. */
export function checkFinite(where: string, name: string, dtype: Dtype, bytes: Uint8Array): void {
  const i = firstNonFinite(dtype, bytes);
  if (i >= 0) {
    throw new QloraError('WEIGHTS_CORRUPT', `${where}: "${name}" holds a NaN or an infinity (element ${i}); the checkpoint is damaged or was saved from a diverged run. Download it again or use another checkpoint.`, { tensor: name });
  }
}
