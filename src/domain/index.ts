export * from './constants.js';
export * from './schemas.js';
export * from './snapshot.js';
export * from './result.js';
export { canonicalJson, deepFreeze, type JsonValue } from './json.js';
export { systemClock, type Clock } from './clock.js';
export { generateApproverKeys, signSnapshot, parseApproverKeys, signatureProblem, ApprovalSignatureSchema, type ApprovalSignature } from './approvals.js';
export { WardenUsageError } from './errors.js';
export { LimitsSchema, SymbolLimitsSchema, parseLimits, type Limits, type LimitsInput, type SymbolLimits } from './limits.js';
