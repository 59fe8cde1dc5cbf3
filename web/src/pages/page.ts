import type { MessageKey } from '../catalogue.js';

/** A page: draws itself into `root` from the URL's parameters; returns its cleanup. */
export interface Page {
  readonly path: string;
  readonly title: MessageKey;
  mount(root: HTMLElement, params: URLSearchParams): () => void;
}
