/**
 * Schema knowledge: what the catalogs say a schema holds. The user objects of a schema (how lost
 * history is told apart from a new database), and introspection into one model with a stable
 * fingerprint, and the diff of two models (README "Architecture").
 */
export { diffSchemas, type SchemaDifference } from "./diff.js";
export {
  type ColumnInfo,
  type ConstraintInfo,
  type ExtensionInfo,
  type FunctionInfo,
  type IndexInfo,
  introspectSchema,
  type PolicyInfo,
  type SchemaModel,
  type SequenceInfo,
  schemaFingerprint,
  type TableInfo,
  type TriggerInfo,
  type TypeInfo,
  type ViewInfo,
} from "./introspect.js";
export {
  describeUserObjects,
  findUserObjects,
  type OwnRelations,
  type SchemaObject,
  type UserObjects,
} from "./user-objects.js";
