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

/** Removes every child and adds these (text nodes for strings). */
export function fill(element: Element, ...children: (Node | string)[]): void {
  element.replaceChildren(
    ...children.map((child) => (typeof child === 'string' ? document.createTextNode(child) : child)),
  );
}

export function clockOf(timestamp: number): string {
  return new Date(timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** The local calendar day of a timestamp, e.g. `2025-3-14`: messages with the same key share a separator. */
export function dayKey(timestamp: number): string {
  const date = new Date(timestamp);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** A day separator's label: Today, Yesterday, then the date (with the year when it is not this year's). */
export function dayLabel(timestamp: number, now = Date.now()): string {
  const today = new Date(now);
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(timestamp) === dayKey(now)) return 'Today';
  if (dayKey(timestamp) === dayKey(yesterday.getTime())) return 'Yesterday';
  const date = new Date(timestamp);
  return date.toLocaleDateString([], {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    ...(date.getFullYear() === today.getFullYear() ? {} : { year: 'numeric' }),
  });
}

/** "online", or when the user was last seen. */
export function presenceLabel(online: boolean, lastOnline: number | null | undefined): string {
  if (online) return 'online';
  if (!lastOnline) return 'offline';
  const day = dayLabel(lastOnline);
  return `last seen ${day === 'Today' ? 'today' : day === 'Yesterday' ? 'yesterday' : day} at ${clockOf(lastOnline)}`;
}

export function timeOf(timestamp: number): string {
  const date = new Date(timestamp);
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString([], { day: 'numeric', month: 'short' });
}

/** The status the app gives a message that could not be sent (Chat21's failures are negative). */
export const NOT_SENT = -100;

/** The sender's mark for a Chat21 status code. */
export function markOf(status: number): { symbol: string; label: string } {
  if (status < 0) return { symbol: '!', label: 'not sent' };
  if (status < 100) return { symbol: '○', label: 'sending' };
  if (status < 150) return { symbol: '✓', label: 'sent' };
  if (status < 250) return { symbol: '✓✓', label: 'delivered' };
  return { symbol: '✓✓', label: 'read' };
}
