/**
 * DOM helpers. Children are strings (always set as text nodes, so user data is never parsed as
 * HTML) or elements; attributes are set with setAttribute (values are never markup either).
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children)
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return element;
}

/** `text` with each occurrence of the query's words wrapped in <mark>, as text nodes only. */
export function highlight(text: string, query: string): (Node | string)[] {
  const words = query
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  if (words.length === 0) return [text];
  const lower = text.toLowerCase();
  const parts: (Node | string)[] = [];
  let i = 0;
  while (i < text.length) {
    let best = -1;
    let length = 0;
    for (const word of words) {
      const at = lower.indexOf(word, i);
      if (at !== -1 && (best === -1 || at < best)) {
        best = at;
        length = word.length;
      }
    }
    if (best === -1) break;
    if (best > i) parts.push(text.slice(i, best));
    parts.push(h('mark', {}, text.slice(best, best + length)));
    i = best + length;
  }
  if (i < text.length) parts.push(text.slice(i));
  return parts;
}

export function timeOf(timestamp: number): string {
  const date = new Date(timestamp);
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString([], { day: 'numeric', month: 'short' });
}

/** The sender's mark for a Chat21 status code. */
export function markOf(status: number): { symbol: string; label: string } {
  if (status < 0) return { symbol: '!', label: 'failed' };
  if (status < 100) return { symbol: '🕓', label: 'sending' };
  if (status < 150) return { symbol: '✓', label: 'sent' };
  if (status < 250) return { symbol: '✓✓', label: 'delivered' };
  return { symbol: '✓✓', label: 'read' };
}
