import { h } from '../dom.js';
import { t } from '../i18n.js';
import { ApiError } from '../api.js';

export function section(title: string, ...children: (Node | string | null)[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

/** The one-line state of a failed load: unsupported route, agent error, unreachable. */
export function errorNote(error: unknown): HTMLElement {
  if (error instanceof ApiError && error.status === 0) return h('p', { class: 'error', role: 'alert' }, t('status.unreachable'));
  if (error instanceof ApiError && error.status === 401) return h('p', { class: 'error', role: 'alert' }, t('status.unauthorized'));
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof ApiError && error.hint !== null ? ` (${error.hint})` : '';
  return h('p', { class: 'error', role: 'alert' }, t('common.error', { message: message + hint }));
}

export function unsupported(path: string): HTMLElement {
  return h('p', { class: 'empty' }, t('common.unsupported', { path }));
}

export function empty(text: string): HTMLElement {
  return h('p', { class: 'empty' }, text);
}
