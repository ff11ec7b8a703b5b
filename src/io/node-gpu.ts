// Node-only: a GPUDevice from Dawn (npm `webgpu`). The browser uses navigator.gpu (src/gpu/device.ts);
// nothing else in the engine knows which one it runs on.
import { createRequire } from 'node:module';
import { QloraError } from '../errors';

/** Where SwiftShader's Vulkan driver lives on Debian once `apt-get install chromium` has run. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let gpuSingleton: GPU | undefined;

function loadDawn(): DawnModule {
  const require = createRequire(import.meta.url);
  // A bundled script on a machine without node_modules (the GPU runner) names dawn.node directly.
  const path = process.env.DAWN_NODE_PATH;
  if (path) return require(path) as DawnModule;
  return require('webgpu') as DawnModule;
}

/** The process-wide Dawn GPU object. DAWN_FLAGS holds Dawn toggles separated by spaces, e.g.
 *  `enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia` (shared/tools/gpu-runtime.sh sets it). */
export function nodeGpu(): GPU {
  if (gpuSingleton) return gpuSingleton;
  const dawn = loadDawn();
  Object.assign(globalThis, dawn.globals);
  const flags = (process.env.DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  gpuSingleton = dawn.create(flags);
  return gpuSingleton;
}

/**
 * For tests: SwiftShader (software Vulkan) unless a driver is named in the environment or
 * QLORA_TEST_GPU=1 asks for the machine's own GPU — the same adapter on every machine by default.
 */
export function useSoftwareAdapterIfNoDriver(): void {
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && process.env.QLORA_TEST_GPU !== '1') {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
}

export async function nodeAdapter(powerPreference: GPUPowerPreference = 'high-performance'): Promise<GPUAdapter> {
  const adapter = await nodeGpu().requestAdapter({ powerPreference });
  if (!adapter) {
    throw new QloraError(
      'WEBGPU_UNAVAILABLE',
      'Dawn found no WebGPU adapter on this machine (no Vulkan driver for a GPU). ' +
        `To run on the CPU with SwiftShader: apt-get install -y chromium libvulkan1, then set VK_ICD_FILENAMES=${SWIFTSHADER_ICD}.`,
    );
  }
  return adapter;
}
