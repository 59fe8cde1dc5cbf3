/**
 * Starting a capture (POST /api/v1/captures) or a trace (POST /api/v1/traces) from the page.
 * Both are actions the agent refuses unless `[agent] actions` enables them: the form says so
 * before anyone clicks (the listing names the enabled actions), with the exact line to add,
 * and a refusal shows the agent's own message and hint rather than a bare status.
 */
import type { AgentAction, Recording } from '../../../src/model/recording.js';
import { AGENT_ACTIONS } from '../../../src/model/recording.js';
import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { ApiError, post } from '../api.js';
import { errorNote } from './common.js';

interface Field {
  readonly name: 'port' | 'filter' | 'expr' | 'duration_s' | 'max_mb' | 'interface' | 'snaplen';
  readonly input: HTMLInputElement;
  readonly numeric: boolean;
  /** Whether a trace takes it too (the agent refuses a trace's filter, interface and snaplen). */
  readonly trace: boolean;
}

export interface StartForm {
  readonly element: HTMLElement;
  /** What the agent enables (from GET /api/v1/recordings); null when unknown. */
  setActions(actions: readonly AgentAction[] | null): void;
}

/** The line of tcp_diag.conf that enables `action` besides those already on (what the agent's hint says). */
function actionsLine(enabled: readonly AgentAction[], action: AgentAction): string {
  return `[agent] actions = [${[...enabled, action].map((a) => `"${a}"`).join(', ')}]`;
}

/** An agent's refusal: its message and its hint (the command or key that fixes it), both as the agent wrote them. */
export function refusal(error: unknown): HTMLElement {
  if (!(error instanceof ApiError) || error.status === 0 || error.status === 401) return errorNote(error);
  return h('div', { class: 'notice error', role: 'alert', 'data-testid': 'start-refused', 'data-code': error.code },
    h('p', {}, t('captures.refused'), ' ', h('span', { translate: 'no' }, error.message)),
    error.hint === null ? null : h('p', {}, t('captures.hint'), ' ', h('code', { translate: 'no' }, error.hint)));
}

/** `host` from the connections page (a peer) as ss's filter expression: `dst ADDR`, IPv6 in brackets. */
function hostExpr(host: string): string {
  return `dst ${host.includes(':') ? `[${host}]` : host}`;
}

export function startForm(params: URLSearchParams, onStarted: (r: Recording) => void): StartForm {
  const input = (name: Field['name'], attrs: Readonly<Record<string, string | number>>, numeric: boolean, trace: boolean, initial: string | null): Field => {
    const el = h('input', { name, id: `start-${name}`, 'data-field': name, ...attrs, placeholder: String(attrs.placeholder ?? t('captures.default')) });
    if (initial !== null) el.value = initial;
    return { name, input: el, numeric, trace };
  };
  const host = params.get('host');
  const fields: Field[] = [
    input('port', { type: 'number', min: 1, max: 65535, size: 6 }, true, true, params.get('port')),
    input('filter', { type: 'text', size: 22, placeholder: t('captures.filterPlaceholder') }, false, false, params.get('filter')),
    input('expr', { type: 'text', size: 22, placeholder: t('captures.exprPlaceholder') }, false, true, params.get('expr') ?? (host === null ? null : hostExpr(host))),
    input('duration_s', { type: 'number', min: 0.1, step: 'any', size: 6 }, true, true, params.get('duration')),
    input('max_mb', { type: 'number', min: 0.01, step: 'any', size: 6 }, true, true, null),
    input('interface', { type: 'text', size: 8 }, false, false, null),
    input('snaplen', { type: 'number', min: 1, max: 262144, size: 6 }, true, false, null),
  ];
  const LABELS: Readonly<Record<Field['name'], string>> = {
    port: t('captures.port'), filter: t('captures.filter'), expr: t('captures.expr'), duration_s: t('captures.duration'),
    max_mb: t('captures.maxMb'), interface: t('captures.interface'), snaplen: t('captures.snaplen'),
  };
  const startCapture = h('button', { type: 'button', 'data-testid': 'start-capture' }, t('captures.start'));
  const startTrace = h('button', { type: 'button', 'data-testid': 'start-trace' }, t('captures.startTrace'));
  const notices = h('div', { 'data-testid': 'action-notices' });
  const message = h('div', { 'aria-live': 'polite' });
  const element = h('div', {},
    notices,
    h('div', { class: 'form-grid' }, ...fields.map((f) => h('label', { for: f.input.id }, h('span', {}, LABELS[f.name]), f.input))),
    h('div', { class: 'toolbar' }, startCapture, startTrace),
    message);

  const start = (what: AgentAction) => {
    clear(message);
    const body: Record<string, string | number> = {};
    for (const f of fields) {
      const v = f.input.value.trim();
      if (v === '' || (what === 'trace' && !f.trace)) continue;
      // A number input that does not parse reads as '' (skipped above); the agent checks ranges and names the field.
      body[f.name] = f.numeric ? Number(v) : v;
    }
    const button = what === 'capture' ? startCapture : startTrace;
    button.disabled = true;
    post<{ recording: Recording }>(what === 'capture' ? '/api/v1/captures' : '/api/v1/traces', body).then((r) => {
      if (r === null) message.append(errorNote(new ApiError(404, 'HTTP_404', what === 'capture' ? '/api/v1/captures' : '/api/v1/traces', null)));
      else {
        message.append(h('p', { class: 'ok', 'data-testid': 'start-ok', 'data-id': r.recording.id }, t('captures.startedNote', { id: String(r.recording.id) })));
        onStarted(r.recording);
      }
    }, (e: unknown) => message.append(refusal(e))).finally(() => {
      button.disabled = false;
    });
  };
  startCapture.addEventListener('click', () => start('capture'));
  startTrace.addEventListener('click', () => start('trace'));

  return {
    element,
    setActions(actions) {
      clear(notices);
      if (actions === null) return;
      for (const a of AGENT_ACTIONS) {
        if (actions.includes(a)) continue;
        notices.append(h('div', { class: 'notice', 'data-testid': `action-off-${a}` },
          h('p', {}, t('captures.actionOff', { what: t(`kind.${a}`) })),
          h('code', { translate: 'no' }, actionsLine(actions, a))));
      }
    },
  };
}
