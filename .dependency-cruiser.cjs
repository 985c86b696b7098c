// The floors of the tree (docs/architecture.md), bottom first. A module imports only from its own
// floor or the floors below it; no import cycles; src/ never reaches stress/, workers/ or test/.
// `npm test` runs this (npm run floors).
const FLOORS = [
  'src/shm', // the shared-memory layout and its typed accessors
  'src/kernel', // the contract: steps and effects, the task, op streams, invariant ids, operation tables
  'src/locks', // the page lock and the wait table
  'src/mm', // the mm/ paths: page cache, faults, truncate, rmap, reclaim, writeback, collapse, fuse
  'src/variants', // named protocol variants and self-test mutants: partial operation tables
  'src/check', // invariants, watchdog, wait-for graph, lockdep, the drivers' observer
  'src/sched', // the two drivers, strategies, repro files, shrinking: no pages
  'src/report', // results and the files they are written to
  'src/scenarios', // what the actors do
  'src/run', // flags, free-mode orchestration, the finding pipeline
  'src/matrix', // cells, grading, the nightly matrix
  'src/plugin', // the public API and the plug-in loader
  '(stress|workers)', // the CLI, its commands and benchmarks; worker entry points
];

const upward = FLOORS.slice(0, -1).map((floor, i) => ({
  name: `floor-${floor.replace(/\W+/g, '-')}`,
  comment: `${floor} may import only from its own floor or below`,
  severity: 'error',
  from: { path: `^${floor}/` },
  to: { path: `^(${FLOORS.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'import cycles', from: {}, to: { circular: true } },
    {
      name: 'src-not-harness', severity: 'error', comment: 'src/ never imports stress/, workers/ or test/',
      from: { path: '^src/' }, to: { path: '^(stress|workers|test)/' },
    },
    {
      name: 'stress-workers-apart', severity: 'error', comment: 'the CLI and the worker entry points do not import each other',
      from: { path: '^(stress|workers)/' }, to: { path: '^(stress|workers)/', pathNot: '^$1/' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
  },
};
