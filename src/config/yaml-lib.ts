/**
 * The parts of the yaml package that reading confiture.yaml uses, imported statically here so
 * that yaml-source.ts can load this module lazily with its named exports intact (importing the
 * yaml package itself dynamically bundles to a module with only a default export: its build is
 * CommonJS).
 */
export { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
