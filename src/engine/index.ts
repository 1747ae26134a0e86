export { createEngine } from './createEngine.js';
export type { Engine, EngineOptions, EngineKillSwitch, ResolveOptions } from './types.js';
export { KillSwitchBoard, HoldKind, HOLD_LIFTED_BY, type KillSwitchChange, type KillSwitchHold, type KillSwitchSetOptions } from './killSwitch.js';
export { createDefaultLogger, REDACT_PATHS } from './logger.js';
export type { TakeOver } from './fleetLeases.js';
export type { EngineLimits, LimitsChange, LimitsUsage } from './limits.js';
