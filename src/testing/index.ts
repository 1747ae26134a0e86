/** Test helpers for hosts: a broker whose every answer you script, and a time-skipping clock. */
export { ScriptedBroker, type SubmitStep, type CancelStep, type LookupStep, type ProtectionStep, type PositionStep, type ScriptedCall } from './scriptedBroker.js';
export { VirtualClock } from './virtualClock.js';
export { adapterConformance, registerAdapterConformance, ConformanceError, type AdapterConformanceOptions, type ConformanceCheck, type ConformanceVenue } from './conformance.js';
