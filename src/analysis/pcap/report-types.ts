/**
 * The analysis report's types live in model/ (the dashboard draws them); the analysis keeps
 * this name for its own modules.
 */
export type {
  AnalysisError, AnalysisReport, AnalysisSummary, ConnectionReport, EndpointJson, FailedHandshake, IcmpErrorJson, PerSide, RttSummary, TalkerJson, TimelineBucket,
} from '../../model/capture-report.js';
