export { caseFromLog, loadCases, recordedCalls, replayModels, writeCase } from './recorded.js';
export type { Regression, Thresholds } from './report.js';
export { compareReports, describeRegression, formatReport, parseReport, progressBar } from './report.js';
export type { CaseReport, CaseRun, EvalReport, Latency, RunSuiteOptions } from './run-suite.js';
export { percentile, runSuite } from './run-suite.js';
export type { JudgeOptions } from './scorers.js';
export { check, exact, judge, matchesSchema, parseJsonPath, valueAt } from './scorers.js';
export type {
  CaseOutput,
  EvalCase,
  EvalSuite,
  RecordedCall,
  RunContext,
  Score,
  Scorer,
  SuiteDefinition,
} from './suite.js';
export { defineSuite } from './suite.js';
