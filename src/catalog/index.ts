/**
 * Schema knowledge: what the catalogs say a schema holds. Today: the user objects of a schema
 * (how lost history is told apart from a new database). Introspection, diff and fingerprints
 * land here next (README "Architecture").
 */
export {
  describeUserObjects,
  findUserObjects,
  type OwnRelations,
  type SchemaObject,
  type UserObjects,
} from "./user-objects.js";
