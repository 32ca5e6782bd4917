/**
 * A small recorder of the calls an emulator received: what a test asserts on instead of poking
 * into server internals. Records summaries only (operation, status, digests, header names), never
 * image bytes or secrets.
 */
export interface RecordedCall {
  /** ms since epoch */
  readonly at: number;
  /** e.g. 'POST /process_face' or 'RekognitionService.CompareFaces' */
  readonly op: string;
  /** HTTP status the emulator answered with; undefined for faults with no answer (reset, hang) */
  status?: number;
  /** free-form, emulator-specific facts (image sha256s, parameters, fault applied, …) */
  readonly detail: Record<string, unknown>;
}

export class CallRecorder {
  private readonly calls: RecordedCall[] = [];

  record(op: string, detail: Record<string, unknown> = {}): RecordedCall {
    const call: RecordedCall = { at: Date.now(), op, detail };
    this.calls.push(call);
    return call;
  }

  all(): readonly RecordedCall[] {
    return [...this.calls];
  }

  /** calls whose op equals or contains `op` */
  of(op: string): RecordedCall[] {
    return this.calls.filter((c) => c.op === op || c.op.includes(op));
  }

  count(op?: string): number {
    return op ? this.of(op).length : this.calls.length;
  }

  last(op?: string): RecordedCall | undefined {
    const list = op ? this.of(op) : this.calls;
    return list[list.length - 1];
  }

  clear(): void {
    this.calls.length = 0;
  }
}
