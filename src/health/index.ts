export { type HealthItem, type HealthLevel, type HealthResult, healthCheck } from "./health.js";
export {
  type Verdict,
  type VerifyFix,
  type VerifyItem,
  type VerifyOptions,
  type VerifyResult,
  verify,
} from "./verify.js";
