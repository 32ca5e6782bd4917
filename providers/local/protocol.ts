/** Messages between the pool (main thread) and its workers. */
import type { AnalyseRequest, FaceError, FaceReport } from './engine';

export interface WorkerData {
  pack?: string;
  modelCache?: string;
  threads: number;
  withoutOptional?: boolean;
}

export interface WorkerRequest {
  id: number;
  bytes: Uint8Array;
  request: AnalyseRequest;
}

export type WorkerReply =
  | { type: 'ready'; models: Record<string, string> }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; report: FaceReport }
  | { type: 'failure'; id: number; reason?: FaceError['reason']; message: string };
