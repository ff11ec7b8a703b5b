// Placeholder page: reports whether this browser offers WebGPU. The full app is built on the engine.
const app = document.getElementById('app')!;
const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
app.innerHTML = `<h1>QLoRA fine-tuning on WebGPU</h1><p id="webgpu-status">${gpu ? 'WebGPU is available in this browser.' : 'This browser has no WebGPU.'}</p>`;
