// Self time per function from a .cpuprofile: node top.mjs file [n]
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const self = new Map(); const dt = p.timeDeltas; const total = dt.reduce((a, b) => a + b, 0);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
p.samples.forEach((id, i) => { const n = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + dt[i]); });
[...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 25)).forEach(([k, v]) => console.log((v / total * 100).toFixed(1).padStart(5) + '%', k));
