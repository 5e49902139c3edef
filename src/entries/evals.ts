/**
 * `hearsay/evals`: the eval harness. A suite is cases and scorers; `runSuite` runs a team over them and
 * reports pass rates, scores, latency and cost; recorded runs become cases; reports compare for regressions.
 */

export { caseFromLog, loadCases, recordedCalls, replayModels, writeCase } from '../evals/recorded.js';
export type { Regression, Thresholds } from '../evals/report.js';
export { compareReports, formatReport, parseReport } from '../evals/report.js';
export type { CaseReport, CaseRun, EvalReport, Latency, RunSuiteOptions } from '../evals/run-suite.js';
export { runSuite } from '../evals/run-suite.js';
export type { JudgeOptions } from '../evals/scorers.js';
export { check, exact, judge, matchesSchema, valueAt } from '../evals/scorers.js';
export type {
  CaseOutput,
  EvalCase,
  EvalSuite,
  RecordedCall,
  RunContext,
  Score,
  Scorer,
  SuiteDefinition,
} from '../evals/suite.js';
export { defineSuite } from '../evals/suite.js';
