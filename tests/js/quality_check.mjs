// The step-down rule of web/static/js/quality.js, run under node: prints what it decided for a
// sequence of samples given on the command line (L lossy, G good), as JSON.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const q = require(process.argv[2]);
let s = q.start();
const levels = [];
for (const c of process.argv[3]) { s = q.step(s, c === "L"); levels.push(s.level); }
console.log(JSON.stringify({ levels, lossy: [q.lossy(10, 90), q.lossy(2, 98), q.lossy(5, 5)] }));
