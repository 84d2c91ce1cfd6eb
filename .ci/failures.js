// Lists every failed assertion of a tap log at its end, with the subtests it sits in and its diagnostics, so the
// cause of a red run is in the last lines CI keeps rather than thousands of lines above.
import { readFileSync } from "node:fs";
const lines = readFileSync(process.argv[2], "utf8").split("\n");
const indent = (l) => l.match(/^ */)[0].length;
const path = [];
let shown = 0;
let previous = "";
for (let i = 0; i < lines.length; i++) {
  const l = lines[i];
  const sub = /^ *# Subtest: (.*)$/.exec(l);
  if (sub) path.splice(indent(l) / 4, Infinity, sub[1]);
  // A subtest that failed because a child did closes right after the child's plan, one level deeper.
  if (/^ *not ok /.test(l) && indent(previous) < indent(l) + 4) {
    shown++;
    const d = indent(l);
    console.log(`\n✗ ${path.slice(0, d / 4 + 1).join(" › ")}\n  ${l.trim()}`);
    if (/^ *---$/.test(lines[i + 1] ?? ""))
      for (let j = i + 2, n = 0; j < lines.length && !/^ *\.\.\.$/.test(lines[j]) && n < 40; j++, n++)
        console.log("    " + lines[j].slice(d + 2));
  }
  if (l.trim()) previous = l;
}
if (shown) console.log(`\n${shown} failed assertion${shown > 1 ? "s" : ""} above.`);
