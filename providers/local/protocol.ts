/** Messages between the pool (main thread) and its workers. */
import type { AnalyseRequest, DocumentReport, DocumentRequest, FaceError, FaceReport } from './engine';

export interface WorkerData {
  pack?: string;
  modelCache?: string;
  threads: number;
  withoutOptional?: boolean;
}

/** An image to analyse for its face (and its MRZ when asked), or a document page read for its MRZ alone. */
export type WorkerTask = { kind: 'analyse'; request: AnalyseRequest } | { kind: 'document'; request: DocumentRequest };

export interface WorkerRequest {
  id: number;
  bytes: Uint8Array;
  task: WorkerTask;
}

export type WorkerReply =
  | { type: 'ready'; models: Record<string, string> }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; report: FaceReport | DocumentReport }
  | { type: 'failure'; id: number; reason?: FaceError['reason']; message: string };
