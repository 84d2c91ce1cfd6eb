// init's one output: short lines on stderr, which is the console, the container log or the test's pipe.
export function log(message: string): void {
  process.stderr.write(`sysmaster-init: ${message}\n`);
}
