// Run the pinned solcjs on a standard-JSON input read from stdin; print
// {"version": ..., "output": ...} on stdout. Resolved from the repository's node_modules.
"use strict";
const solc = require("solc");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const output = JSON.parse(solc.compile(input));
  process.stdout.write(JSON.stringify({ version: solc.version(), output }));
});
