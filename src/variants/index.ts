// Every built-in variant, registered: importing this module fills the registry that
// src/variants/registry.ts composes tables from (map_pages variants, fault paths, self-test
// mutants, the lock mutants).
import './map-pages/index.ts';
import './fault/index.ts';
import './mutants/lock-mutants.ts';
import './mutants/wb-mutants.ts';
import './mutants/migrate-mutants.ts';
import './mutants/pmd-migrate-mutants.ts';
import './mutants/pmd-mkclean-mutants.ts';
import './mutants/ptealloc-mutants.ts';
import './mutants/collapse-mutants.ts';
import './folio/index.ts';
import './folio/large.ts';

export * from './registry.ts';
