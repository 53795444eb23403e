#!/usr/bin/env node
// What N new objects of a kind (idle sockets) cost in a V8 heap: two snapshots of one process
// (`npm run bench` with BENCH_HEAP_DIR=<dir> writes <server>-before/-after.heapsnapshot around the
// memory phase's sockets). Object ids are stable between snapshots of one process, so "new" is an id
// the first snapshot lacks. Prints, per socket (divided by N):
//   1. self size of the new objects by class (constructor, closure name, or node type);
//   2. the new objects that head a new subtree of the dominator tree (their immediate dominator is
//      old), by class and retaining edge, with the retained size of their subtrees;
//   3. one retaining path (to an old object) of a sample of each of the top classes of (2).
//   4. for the top classes of (1), what holds them (retainer class and edge).
// Usage: node --max-old-space-size=8192 bench/heap-diff.mjs <before> <after> <N> [top=30] [class|class…]
// (the last argument: also print a retaining path of one new object of each of these classes, as (1) names them)
import { readFileSync } from 'node:fs';

const [beforeFile, afterFile, nArg, topArg, pathsArg] = process.argv.slice(2);
if (!beforeFile || !afterFile || !nArg) {
  console.error('usage: node bench/heap-diff.mjs <before.heapsnapshot> <after.heapsnapshot> <N> [top]');
  process.exit(1);
}
const N = Number(nArg);
const top = Number(topArg ?? 30);

function load(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields;
  const ef = meta.edge_fields;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const NF = nf.length;
  const EF = ef.length;
  const o = {
    type: nf.indexOf('type'),
    name: nf.indexOf('name'),
    id: nf.indexOf('id'),
    self: nf.indexOf('self_size'),
    edges: nf.indexOf('edge_count'),
  };
  const e = { type: ef.indexOf('type'), name: ef.indexOf('name_or_index'), to: ef.indexOf('to_node') };
  const nodes = snap.nodes;
  const edges = snap.edges;
  const strings = snap.strings;
  const count = nodes.length / NF;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, acc = 0; i < count; i++) {
    firstEdge[i] = acc;
    acc += nodes[i * NF + o.edges] * EF;
    firstEdge[i + 1] = acc;
  }
  const weak = edgeTypes.indexOf('weak');
  const stringTypes = new Set(
    ['string', 'concatenated string', 'sliced string'].map((t) => nodeTypes.indexOf(t)),
  );
  const typeOf = (i) => nodeTypes[nodes[i * NF + o.type]];
  const nameOf = (i) => strings[nodes[i * NF + o.name]];
  const locations = new Map();
  const LF = meta.location_fields?.length ?? 4;
  const locs = snap.locations ?? [];
  for (let k = 0; k < locs.length; k += LF) locations.set(locs[k] / NF, locs[k + 2] + 1);
  const edgeTo = (i, name) => {
    for (let ei = firstEdge[i]; ei < firstEdge[i + 1]; ei += EF) {
      const t = edgeTypes[edges[ei + e.type]];
      if (t !== 'element' && t !== 'hidden' && strings[edges[ei + e.name]] === name)
        return edges[ei + e.to] / NF;
    }
    return -1;
  };
  const names = (i, type, max) => {
    const out = [];
    for (let ei = firstEdge[i]; ei < firstEdge[i + 1]; ei += EF) {
      if (edgeTypes[edges[ei + e.type]] !== type) continue;
      const n = String(strings[edges[ei + e.name]]);
      if (n === '__proto__' || n === 'this') continue;
      out.push(n);
    }
    return out.length > max ? `${out.slice(0, max).join(',')},…` : out.join(',');
  };
  /** where a closure's code is: file (under node_modules/, services/ or libs/) and line */
  const whereOf = (i) => {
    const shared = edgeTo(i, 'shared');
    const script = shared < 0 ? -1 : edgeTo(shared, 'script_or_debug_info');
    const file = script < 0 ? '' : String(strings[nodes[script * NF + o.name]]);
    const short = file.replace(/^.*\/node_modules\//, '').replace(/^.*\/(services|libs)\//, '$1/');
    return `${short}:${locations.get(i) ?? '?'}`;
  };
  const classOf = (i) => {
    const t = nodes[i * NF + o.type];
    if (stringTypes.has(t)) return '(string)';
    const type = nodeTypes[t];
    const name = nameOf(i);
    if (name === 'system / Context') return `Context{${names(i, 'context', 6)}}`;
    if (type === 'object' && name === 'Object') return `Object{${names(i, 'property', 6)}}`;
    if (type === 'object' || type === 'native') return name.split(' ')[0] || `(${type})`;
    if (type === 'closure') return `${name || '(anonymous)'}() ${whereOf(i)}`;
    if (type === 'hidden' || type === 'array' || type === 'code' || type === 'object shape')
      return `(${type}) ${name.slice(0, 40)}`;
    return `(${type})`;
  };
  const edgeName = (ei) => {
    const t = edgeTypes[edges[ei + e.type]];
    const n = edges[ei + e.name];
    return t === 'element' || t === 'hidden' ? `[${n}]` : String(strings[n]);
  };
  return { nodes, edges, NF, EF, o, e, count, firstEdge, weak, typeOf, nameOf, classOf, edgeName, edgeTypes };
}

/** dominators (Cooper, Harvey, Kennedy) over non-weak edges from the root (node 0); retained sizes */
function dominate(h) {
  const { count, nodes, edges, NF, EF, o, e, firstEdge, weak } = h;
  const post = new Int32Array(count).fill(-1);
  const order = new Uint32Array(count);
  let n = 0;
  // iterative DFS post-order
  const stack = new Uint32Array(count);
  const cursor = new Uint32Array(count);
  const seen = new Uint8Array(count);
  let sp = 0;
  stack[sp++] = 0;
  seen[0] = 1;
  cursor[0] = firstEdge[0];
  while (sp) {
    const v = stack[sp - 1];
    let pushed = false;
    while (cursor[v] < firstEdge[v + 1]) {
      const ei = cursor[v];
      cursor[v] += EF;
      if (edges[ei + e.type] === weak) continue;
      const w = edges[ei + e.to] / NF;
      if (seen[w]) continue;
      seen[w] = 1;
      cursor[w] = firstEdge[w];
      stack[sp++] = w;
      pushed = true;
      break;
    }
    if (!pushed) {
      sp--;
      post[v] = n;
      order[n++] = v;
    }
  }
  // predecessors of reachable nodes
  const predCount = new Uint32Array(count + 1);
  for (let v = 0; v < count; v++) {
    if (post[v] < 0) continue;
    for (let ei = firstEdge[v]; ei < firstEdge[v + 1]; ei += EF) {
      if (edges[ei + e.type] === weak) continue;
      predCount[edges[ei + e.to] / NF + 1]++;
    }
  }
  for (let i = 0; i < count; i++) predCount[i + 1] += predCount[i];
  const preds = new Uint32Array(predCount[count]);
  const fill = predCount.slice();
  for (let v = 0; v < count; v++) {
    if (post[v] < 0) continue;
    for (let ei = firstEdge[v]; ei < firstEdge[v + 1]; ei += EF) {
      if (edges[ei + e.type] === weak) continue;
      const w = edges[ei + e.to] / NF;
      preds[fill[w]++] = v;
    }
  }
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a, b) => {
    while (a !== b) {
      while (post[a] < post[b]) a = idom[a];
      while (post[b] < post[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = n - 2; k >= 0; k--) {
      const v = order[k];
      let d = -1;
      for (let p = predCount[v]; p < predCount[v + 1]; p++) {
        const u = preds[p];
        if (idom[u] < 0) continue;
        d = d < 0 ? u : intersect(u, d);
      }
      if (d >= 0 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(count);
  for (let k = 0; k < n; k++) retained[order[k]] += nodes[order[k] * NF + o.self];
  for (let k = 0; k < n - 1; k++) {
    const v = order[k];
    if (idom[v] >= 0 && idom[v] !== v) retained[idom[v]] += retained[v];
  }
  return { idom, retained, preds, predCount, reachable: (v) => post[v] >= 0 };
}

const before = load(beforeFile);
const oldIds = new Set();
for (let i = 0; i < before.count; i++) oldIds.add(before.nodes[i * before.NF + before.o.id]);
const beforeByClass = new Map();
for (let i = 0; i < before.count; i++) {
  const c = before.classOf(i);
  const r = beforeByClass.get(c) ?? { count: 0, self: 0 };
  r.count++;
  r.self += before.nodes[i * before.NF + before.o.self];
  beforeByClass.set(c, r);
}
const h = load(afterFile);
const { idom, retained, preds, predCount, reachable } = dominate(h);
const isNew = new Uint8Array(h.count);
let newSelf = 0;
const byClass = new Map();
for (let i = 0; i < h.count; i++) {
  const c = h.classOf(i);
  const r = byClass.get(c) ?? { count: 0, self: 0, newCount: 0, newSelf: 0 };
  const self = h.nodes[i * h.NF + h.o.self];
  r.count++;
  r.self += self;
  if (!oldIds.has(h.nodes[i * h.NF + h.o.id]) && reachable(i)) {
    isNew[i] = 1;
    r.newCount++;
    r.newSelf += self;
    newSelf += self;
  }
  byClass.set(c, r);
}

const fmtB = (b) => (b / N).toFixed(0).padStart(7);
const fmtN = (c) => (c / N).toFixed(2).padStart(7);
console.log(`${afterFile} vs ${beforeFile}, per ${N} sockets`);
console.log(`new reachable objects: ${(newSelf / N).toFixed(0)} B self size per socket`);
console.log('\n1. new objects by class (self size), per socket; Δ = after − before totals');
console.log(
  `${'B/sock'.padStart(7)} ${'n/sock'.padStart(7)} ${'ΔB/sock'.padStart(7)} ${'Δn/sock'.padStart(7)}  class`,
);
for (const [c, r] of [...byClass].sort((a, b) => b[1].newSelf - a[1].newSelf).slice(0, top)) {
  const b = beforeByClass.get(c) ?? { count: 0, self: 0 };
  console.log(
    `${fmtB(r.newSelf)} ${fmtN(r.newCount)} ${fmtB(r.self - b.self)} ${fmtN(r.count - b.count)}  ${c}`,
  );
}

/** the non-weak edge from u to v (its name), for labelling */
const edgeFrom = (u, v) => {
  for (let ei = h.firstEdge[u]; ei < h.firstEdge[u + 1]; ei += h.EF) {
    if (h.edges[ei + h.e.type] === h.weak) continue;
    if (h.edges[ei + h.e.to] / h.NF === v) return h.edgeName(ei);
  }
  return '?';
};
/** a retainer of v, preferring a new one (towards the socket's own objects) */
const retainerOf = (v, visited) => {
  let any = -1;
  for (let p = predCount[v]; p < predCount[v + 1]; p++) {
    const u = preds[p];
    if (h.typeOf(u) === 'synthetic' || visited.has(u)) continue;
    if (any < 0) any = u;
    if (isNew[u]) return u;
  }
  return any;
};

const heads = new Map();
for (let i = 0; i < h.count; i++) {
  if (!isNew[i] || isNew[idom[i]]) continue;
  const d = idom[i];
  const key = `${h.classOf(i)}  ⟸ ${h.classOf(d)}`;
  const r = heads.get(key) ?? { count: 0, retained: 0, sample: i };
  r.count++;
  r.retained += retained[i];
  heads.set(key, r);
}
console.log(
  '\n2. heads of new dominator subtrees (class ⟸ class of its old immediate dominator), retained, per socket',
);
console.log(`${'B/sock'.padStart(7)} ${'n/sock'.padStart(7)}  head`);
const topHeads = [...heads].sort((a, b) => b[1].retained - a[1].retained).slice(0, top);
for (const [k, r] of topHeads) console.log(`${fmtB(r.retained)} ${fmtN(r.count)}  ${k}`);

console.log(
  '\n3. a retaining path of a sample of the top heads (object ← edge ← retainer …, up to an old object)',
);
for (const [k, r] of topHeads.slice(0, Math.min(top, 15))) {
  let v = r.sample;
  const parts = [h.classOf(v)];
  const visited = new Set([v]);
  for (let depth = 0; depth < 12; depth++) {
    const u = retainerOf(v, visited);
    visited.add(u);
    if (u < 0) break;
    parts.push(`.${edgeFrom(u, v)} ← ${h.classOf(u)}${isNew[u] ? '' : ' (old)'}`);
    if (!isNew[u]) break;
    v = u;
  }
  console.log(`- ${k}:\n    ${parts.join(' ')}`);
}

console.log(
  '\n4. who holds the new objects of the top classes of (1): retainer class .edge (new objects only), per socket',
);
for (const [c] of [...byClass].sort((a, b) => b[1].newSelf - a[1].newSelf).slice(0, Math.min(top, 30))) {
  const by = new Map();
  for (let i = 0; i < h.count; i++) {
    if (!isNew[i] || h.classOf(i) !== c) continue;
    const u = retainerOf(i, new Set());
    const key = u < 0 ? '(none)' : `${h.classOf(u)} .${edgeFrom(u, i)}${isNew[u] ? '' : ' (old)'}`;
    by.set(key, (by.get(key) ?? 0) + h.nodes[i * h.NF + h.o.self]);
  }
  const rows = [...by].sort((a, b) => b[1] - a[1]).slice(0, 4);
  console.log(`- ${c}: ${rows.map(([k, b]) => `${(b / N).toFixed(0)} B ${k}`).join('; ')}`);
}

if (pathsArg) {
  console.log('\n5. retaining paths of the classes asked for');
  for (const wanted of pathsArg.split('|')) {
    let v = -1;
    for (let i = 0; i < h.count && v < 0; i++) if (isNew[i] && h.classOf(i) === wanted) v = i;
    if (v < 0) {
      console.log(`- ${wanted}: no new object`);
      continue;
    }
    const parts = [wanted];
    const visited = new Set([v]);
    for (let depth = 0; depth < 16; depth++) {
      const u = retainerOf(v, visited);
      if (u < 0) break;
      visited.add(u);
      parts.push(`.${edgeFrom(u, v)} ← ${h.classOf(u)}${isNew[u] ? '' : ' (old)'}`);
      if (!isNew[u]) break;
      v = u;
    }
    console.log(`- ${parts.join(' ')}`);
  }
}
