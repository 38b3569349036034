/** Incident reports (`incident new`, `incident log`): the only way in from outside src/incident. */
export {
  type GatherOptions,
  type IncidentEvidence,
  type LockFacts,
  type Piece,
  PROBE_CONNECT_TIMEOUT_MS,
  type ServerFacts,
  TIMELINE_EVENTS,
} from "./evidence.js";
export { type LogIncidentOptions, type LogIncidentResult, logIncident } from "./log-incident.js";
export {
  type NewIncidentOptions,
  type NewIncidentResult,
  newIncident,
  parseSeverity,
} from "./new-incident.js";
export { type IncidentSeverity, SEVERITIES } from "./report.js";
