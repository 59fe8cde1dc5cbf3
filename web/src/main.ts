/**
 * The shell: language, navigation (hash routes, so a view's URL can be shared), the connection
 * status line, the token prompt, and the current page. Switching language re-mounts the page.
 */
import './style.css';
import { LANGS } from './catalogue.js';
import type { Lang } from './catalogue.js';
import { h, clear } from './dom.js';
import { initLang, setLang, t, time, currentLang } from './i18n.js';
import { onUnauthorized, setToken, token } from './api.js';
import { live } from './live.js';
import type { Page } from './pages/page.js';
import { overview } from './pages/overview.js';
import { connections } from './pages/connections.js';
import { listeners } from './pages/listeners.js';
import { peers } from './pages/peers.js';
import { events } from './pages/events.js';
import { alerts } from './pages/alerts.js';
import { captures } from './pages/captures.js';
import { map } from './pages/map.js';
// The Fleet page (many agents through their engines).
import { fleet } from './pages/fleet.js';

const PAGES: readonly Page[] = [overview, connections, listeners, peers, events, alerts, captures,
  map,
  fleet,
];
const LANG_NAMES: Readonly<Record<Lang, string>> = { en: 'English', 'zh-CN': '中文' };

initLang();
const app = document.getElementById('app')!;
const nav = h('nav', { 'aria-label': 'tcpdiag' });
const langSel = h('select', { id: 'lang' }, ...LANGS.map((l) => h('option', { value: l }, LANG_NAMES[l])));
const langLabel = h('label', { for: 'lang' });
const statusLine = h('div', { class: 'status', role: 'status', 'data-testid': 'status' });
const main = h('main', { id: 'main', tabindex: -1 });
const dialog = h('dialog', { class: 'token' });
const brand = h('span', { class: 'brand' });
app.append(h('header', {}, brand, nav, h('div', { class: 'lang' }, langLabel, langSel)), statusLine, main, dialog);

let unmount: (() => void) | null = null;

function route(): { page: Page; params: URLSearchParams } {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = hash.split('?');
  return { page: PAGES.find((p) => p.path === path) ?? overview, params: new URLSearchParams(query) };
}

function drawNav(): void {
  const current = route().page;
  clear(nav);
  for (const p of PAGES) nav.append(h('a', { href: `#/${p.path}`, class: p === current ? 'active' : '', 'aria-current': p === current ? 'page' : undefined, 'data-page': p.path }, t(p.title)));
  brand.textContent = t('app.title');
  document.title = `${t(current.title)} · ${t('app.title')}`;
  langLabel.textContent = t('lang.label');
  langSel.value = currentLang();
}

function mount(): void {
  unmount?.();
  clear(main);
  const { page, params } = route();
  drawNav();
  main.dataset.page = page.path;
  unmount = page.mount(main, params);
}

function drawStatus(): void {
  const s = live.status;
  const last = live.lastReceived;
  statusLine.className = `status ${s}`;
  statusLine.dataset.status = s;
  statusLine.textContent = `${t(`status.${s}`)}${last === null || s !== 'live' ? '' : ` · ${t('status.lastUpdate', { time: time(last.atMs) })}`}`;
  if (s === 'unauthorized' && !dialog.open) askToken(false);
}

function askToken(wrong: boolean): void {
  clear(dialog);
  const input = h('input', { type: 'password', placeholder: t('token.placeholder'), autocomplete: 'off', size: 48, 'aria-label': t('token.placeholder') });
  const form = h('form', { method: 'dialog' }, h('h2', {}, t('token.title')), h('p', {}, t('token.explain')), wrong ? h('p', { class: 'error' }, t('token.wrong')) : null, input, h('button', { type: 'submit' }, t('token.save')));
  form.addEventListener('submit', () => {
    setToken(input.value.trim());
    live.setStatus('connecting');
    void live.prime();
    live.connect();
    mount();
  });
  dialog.append(form);
  dialog.showModal();
  input.focus();
}

langSel.addEventListener('change', () => {
  setLang(langSel.value as Lang);
  mount();
  drawStatus();
});
window.addEventListener('hashchange', mount);
onUnauthorized(() => {
  if (!dialog.open) askToken(token() !== null);
  live.setStatus('unauthorized');
});
live.subscribe(() => drawStatus());
mount();
drawStatus();
void live.start();
