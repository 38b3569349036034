/**
 * Schema knowledge as operations on a configured database: today `inspectSchema`; drift-detect
 * and sync-history land here (README "Architecture").
 */
export { inspectSchema, type SchemaInspection } from "./inspect.js";
