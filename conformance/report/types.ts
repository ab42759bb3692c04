// A conformance report as schemas/conformance-report.schema.json describes it. The types live
// with the code that renders and checks reports (generator/render/report.ts); the runner
// writes what the renderer reads.

export type {
  ConformanceReport,
  ReportSummary,
  RobustnessOutcome,
  RobustnessProbe as RobustnessFinding,
  StatementVerdict,
  TestResult as ReportTest,
  VerdictValue,
} from '../../generator/render/report.js';
