/**
 * The agent's detailed tiers, wired: the recordings' table on the history's database, the
 * recorder (captures and traces), the capture rings on key interfaces and the escalation that
 * listens to the bus. Opened by serve.ts after the agent exists, closed before the store is:
 * closing stops every recording and ring and waits until nothing of them runs.
 */
import { TcpdiagError } from '../errors.js';
import type { AgentAction } from '../model/recording.js';
import type { Redactor } from '../privacy/redact.js';
import type { Thresholds } from '../diagnose/rule.js';
import type { Scope } from '../platform/scope.js';
import type { HistoryStore } from '../store/history.js';
import { RecordingStore } from '../store/recordings.js';
import type { AgentBus } from './bus.js';
import { CaptureRings } from './capture-ring.js';
import { Escalation } from './escalation.js';
import type { EscalationSettings } from './escalation.js';
import { Recorder } from './recorder.js';

export interface RingSettings {
  readonly interfaces: readonly string[];
  readonly snaplen: number;
  readonly maxBytes: number;
  readonly fileBytes: number;
}

export interface RecordingsOptions {
  readonly history: HistoryStore;
  readonly bus: AgentBus;
  readonly scope: Scope;
  readonly directory: string;
  readonly escalation: EscalationSettings;
  readonly ring: RingSettings;
  /** agent.actions: what the API may start. */
  readonly actions: readonly AgentAction[];
  readonly maxTotalBytes: number;
  readonly uploadMaxBytes: number;
  readonly traceBufferKb: number;
  readonly tracePollMs: number;
  readonly thresholds: Thresholds;
  readonly redactor: () => Redactor | null;
  readonly note: (text: string) => void;
}

export class Recordings {
  readonly store: RecordingStore;
  readonly recorder: Recorder;
  readonly rings: CaptureRings | null;
  readonly escalation: Escalation;
  /** One upload is analysed at a time (each holds a file and an analyser). */
  uploading = false;

  private constructor(readonly options: RecordingsOptions) {
    this.store = new RecordingStore(options.history.database);
    const interrupted = this.store.markInterrupted(Date.now());
    if (interrupted.length > 0) options.note(`recordings ${interrupted.join(', ')} were still running when the agent last stopped: marked interrupted`);
    this.recorder = new Recorder({
      store: this.store, bus: options.bus, scope: options.scope, directory: options.directory, maxTotalBytes: options.maxTotalBytes,
      traceBufferKb: options.traceBufferKb, tracePollMs: options.tracePollMs, thresholds: options.thresholds, redactor: options.redactor, note: options.note,
    });
    this.rings = options.ring.interfaces.length === 0 ? null : new CaptureRings({
      ...options.ring, directory: options.directory, scope: options.scope, store: this.store, recorder: this.recorder, bus: options.bus, redactor: options.redactor, note: options.note,
    });
    this.escalation = new Escalation(options.escalation, this.recorder, this.rings, options.note);
  }

  /** The table opened, what a dead agent left running marked interrupted; nothing runs until start(). */
  static open(options: RecordingsOptions): Recordings {
    return new Recordings(options);
  }

  /** Escalate from now on, and start the capture rings. */
  start(): void {
    this.escalation.subscribe(this.options.bus);
    this.rings?.start();
  }

  /** Refuse an action the configuration does not enable, naming the key that does. */
  requireAction(action: AgentAction): void {
    if (this.options.actions.includes(action)) return;
    const enabled = [...this.options.actions, action].map((a) => `"${a}"`).join(', ');
    throw new TcpdiagError('TCPDIAG_ACTION_DISABLED', `starting a ${action} through the API is off on this agent`, {
      hint: `enable it in tcp_diag.conf: [agent] actions = [${enabled}], then restart the agent`,
    });
  }

  async close(): Promise<void> {
    const escalations = this.escalation.close();
    await this.recorder.close();
    await this.rings?.close();
    await escalations;
  }
}
