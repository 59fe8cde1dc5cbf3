/**
 * Captures: start a capture or a trace (when agent.actions enables it), the agent's recordings
 * (GET /api/v1/recordings, refreshed on the stream's `recording` messages), their files, and the
 * analysis of a recorded capture (GET /api/v1/recordings/analysis) or of an uploaded pcap
 * (POST /api/v1/analyze), both as `tcpdiag analyze --json` gives it.
 *
 * URL state: `?recording=N` opens that recording's analysis; `?upload=NAME` shows the file
 * uploaded last in this tab (kept across a language switch, which re-mounts the page).
 */
import type { AnalysisReport } from '../../../src/model/capture-report.js';
import type { AgentAction, Recording } from '../../../src/model/recording.js';
import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { get, post } from '../api.js';
import { live } from '../live.js';
import type { Page } from './page.js';
import { empty, errorNote, section, unsupported } from './common.js';
import { drawAnalysis } from './capture-analysis.js';
import { refusal, startForm } from './capture-start.js';
import { recordingsTable } from './recordings-table.js';

interface Listing {
  readonly recordings: readonly Recording[];
  readonly actions: readonly AgentAction[];
}

/**
 * A stopped capture is analysed after its `stopped` message (the recorder analyses once the
 * file is closed, and says nothing when done), so while one waits for its analysis the list is
 * read again each second, for at most this long after it stopped.
 */
const ANALYSIS_WAIT_MS = 60_000;

/** The file uploaded last in this tab. */
let lastUpload: { readonly name: string; readonly report: AnalysisReport } | null = null;

function setUrlParam(name: 'recording' | 'upload', value: string): void {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  params.delete('recording');
  params.delete('upload');
  params.set(name, value);
  history.replaceState(null, '', `${location.pathname}${location.search}#/${path}?${params.toString()}`);
}

export const captures: Page = {
  path: 'captures',
  title: 'nav.captures',
  mount(root, params) {
    let alive = true;
    let loading = false;
    let again = false;
    let waitTimer: number | undefined;
    let undraw: () => void = () => undefined;
    const list = h('div', { 'data-testid': 'captures-list' });
    const listMessage = h('div', {});
    const analysisTitle = h('h2', {}, t('captures.analysis'));
    const analysis = h('div', { 'data-testid': 'analysis' });
    const file = h('input', { type: 'file', accept: '.pcap,.pcapng,.cap,application/vnd.tcpdump.pcap', 'data-testid': 'upload-file', 'aria-label': t('captures.upload') });
    const upload = h('button', { type: 'button', 'data-testid': 'upload' }, t('captures.uploadButton'));
    const form = startForm(params, () => load());

    // Which analysis was asked for last: an answer to an earlier request is dropped.
    let asked = 0;
    const show = (title: string, source: string, report: AnalysisReport) => {
      undraw();
      clear(analysis);
      analysisTitle.textContent = title;
      analysis.dataset.source = source;
      undraw = drawAnalysis(analysis, report);
    };
    const loadingNote = (title: string, source: string, text: string) => {
      undraw();
      undraw = () => undefined;
      clear(analysis);
      analysisTitle.textContent = title;
      analysis.dataset.source = source;
      analysis.append(empty(text));
    };
    const failed = (request: number) => (e: unknown) => {
      if (!alive || request !== asked) return;
      clear(analysis);
      analysis.append(errorNote(e));
    };

    const open = (id: number) => {
      const title = t('captures.analysisOfRecording', { id: String(id) });
      const request = ++asked;
      setUrlParam('recording', String(id));
      loadingNote(title, `recording:${id}`, t('common.loading'));
      get<AnalysisReport>(`/api/v1/recordings/analysis?id=${id}`).then((r) => {
        if (!alive || request !== asked) return;
        if (r === null) {
          clear(analysis);
          analysis.append(unsupported('/api/v1/recordings/analysis'));
        } else show(title, `recording:${id}`, r);
      }, failed(request));
    };

    const stop = (id: number) => {
      clear(listMessage);
      post(`/api/v1/recordings/stop?id=${id}`, {}).then(() => load(), (e: unknown) => listMessage.append(refusal(e)));
    };

    const load = () => {
      if (loading) {
        again = true;
        return;
      }
      loading = true;
      window.clearTimeout(waitTimer);
      get<Listing>('/api/v1/recordings').then((r) => {
        if (!alive) return;
        clear(list);
        if (r === null) {
          list.append(unsupported('/api/v1/recordings'));
          form.setActions(null);
          return;
        }
        form.setActions(r.actions);
        list.append(r.recordings.length === 0 ? empty(t('captures.none')) : recordingsTable(r.recordings, { stop, open, failed: (e) => listMessage.append(errorNote(e)) }));
        const now = Date.now();
        const waiting = r.recordings.some((x) => x.kind === 'capture' && x.status === 'stopped' && !x.analyzed && x.file !== null && x.stoppedAtMs !== null && now - x.stoppedAtMs < ANALYSIS_WAIT_MS);
        if (waiting) waitTimer = window.setTimeout(load, 1000);
      }, (e: unknown) => {
        if (!alive) return;
        clear(list);
        list.append(errorNote(e));
      }).finally(() => {
        loading = false;
        if (again && alive) {
          again = false;
          load();
        }
      });
    };

    upload.addEventListener('click', () => {
      const f = file.files?.[0];
      clear(analysis);
      if (f === undefined) {
        asked++;
        undraw();
        undraw = () => undefined;
        analysis.append(empty(t('captures.uploadPick')));
        return;
      }
      const title = t('captures.analysisOfFile', { file: f.name });
      const request = ++asked;
      loadingNote(title, `upload:${f.name}`, t('captures.analysing'));
      upload.disabled = true;
      post<AnalysisReport>(`/api/v1/analyze?name=${encodeURIComponent(f.name)}`, null, { type: 'application/vnd.tcpdump.pcap', data: f }).then((r) => {
        if (!alive || request !== asked) return;
        if (r === null) {
          clear(analysis);
          analysis.append(unsupported('/api/v1/analyze'));
          return;
        }
        lastUpload = { name: f.name, report: r };
        setUrlParam('upload', f.name);
        show(title, `upload:${f.name}`, r);
      }, failed(request)).finally(() => {
        upload.disabled = false;
      });
    });

    root.append(
      section(t('captures.startTitle'), form.element),
      section(t('captures.recordings'), listMessage, list),
      section(t('captures.upload'), h('div', { class: 'toolbar' }, file, upload)),
      h('section', { class: 'card', 'data-testid': 'analysis-card' }, analysisTitle, analysis));

    const recording = params.get('recording');
    const uploaded = params.get('upload');
    if (recording !== null && /^\d{1,15}$/.test(recording)) open(Number(recording));
    else if (uploaded !== null && lastUpload?.name === uploaded) show(t('captures.analysisOfFile', { file: uploaded }), `upload:${uploaded}`, lastUpload.report);
    else analysis.append(empty(t('captures.analysisNone')));
    load();
    const unsubscribe = live.subscribe((m) => {
      if (m?.kind === 'recording') load();
    });
    return () => {
      alive = false;
      window.clearTimeout(waitTimer);
      unsubscribe();
      undraw();
    };
  },
};
