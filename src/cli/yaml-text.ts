/**
 * YAML output for `config show`, in its own module so the yaml package is loaded only by the
 * command that prints YAML (see src/config/yaml-lib.ts for why the import is static here).
 */
export { stringify } from "yaml";
