export { createEngine, type Engine, type EngineOptions, type EngineKillSwitch, type ResolveOptions } from './createEngine.js';
export { KillSwitchBoard, type KillSwitchChange, type KillSwitchSetOptions } from './killSwitch.js';
export { createDefaultLogger, REDACT_PATHS } from './logger.js';
