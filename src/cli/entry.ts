// Process entry of the bundled CLI: run, then exit explicitly (Dawn keeps the event loop alive).
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`qlora: internal error: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
