// Entry of the device-check bundle (scripts/bench.mjs --bundle-only writes it beside the bench's):
// `node .gpu/device-check.js [--quick] [--checks products,attention,golden] [--fixtures DIR] [--backends FILE]`. Exit 0: every check passed;
// 1: a check failed (its line says which); 2: the checks could not run (no adapter, bad option).
import { isQloraError } from '../errors';
import { main } from './device-check';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(isQloraError(e) ? `device-check: ${e.message} [${e.code}]\n` : `device-check: ${(e as Error).stack ?? e}\n`);
    process.exit(2);
  },
);
