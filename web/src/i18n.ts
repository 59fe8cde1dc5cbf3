/** The page's language: ?lang= first (then remembered), else the remembered one, else the browser's. */
import { CATALOGUES, LANGS } from './catalogue.js';
import type { Lang, MessageKey } from './catalogue.js';

const STORAGE_KEY = 'tcpdiag.lang';
let lang: Lang = 'en';

function asLang(value: string | null): Lang | null {
  if (value === null) return null;
  const found = LANGS.find((l) => l.toLowerCase() === value.toLowerCase());
  if (found !== undefined) return found;
  return value.toLowerCase().startsWith('zh') ? 'zh-CN' : value.toLowerCase().startsWith('en') ? 'en' : null;
}

export function initLang(): Lang {
  const fromUrl = asLang(new URLSearchParams(location.search).get('lang'));
  if (fromUrl !== null) localStorage.setItem(STORAGE_KEY, fromUrl);
  lang = fromUrl ?? asLang(localStorage.getItem(STORAGE_KEY)) ?? asLang(navigator.language) ?? 'en';
  document.documentElement.lang = lang;
  return lang;
}

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  const url = new URL(location.href);
  url.searchParams.set('lang', next);
  history.replaceState(null, '', url);
}

export function currentLang(): Lang {
  return lang;
}

export function t(key: MessageKey, params: Readonly<Record<string, string | number>> = {}): string {
  return CATALOGUES[lang][key].replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = params[name];
    return v === undefined ? `{${name}}` : typeof v === 'number' ? num(v) : v;
  });
}

const numberFormats = new Map<string, Intl.NumberFormat>();
export function num(value: number, digits = 0): string {
  const key = `${lang}/${digits}`;
  let f = numberFormats.get(key);
  if (f === undefined) {
    f = new Intl.NumberFormat(lang, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
    numberFormats.set(key, f);
  }
  return f.format(value);
}

export function time(ms: number): string {
  return new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(ms);
}

export function dateTime(ms: number): string {
  return new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'medium', hour12: false }).format(ms);
}
