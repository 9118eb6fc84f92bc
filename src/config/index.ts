/** vigil's configuration: load once at start-up, then read the frozen VigilConfig. */
export { loadConfig, parseConfigYaml } from './load';
export { checkConfig, compileConfig, configInvalid, configProblemsOf, CONFIG_KEYS } from './compile';
export type { CheckResult, CompileOptions } from './compile';
export type { Env } from './env';
export { formatProblem } from './problems';
export type { ConfigProblem } from './problems';
export { DEFAULTS } from './defaults';
export { lagRuleFor } from './lag-rule';
export type { LagRule } from './lag-rule';
export { redactUrl, summarizeConfig } from './summary';
export * from './types';
