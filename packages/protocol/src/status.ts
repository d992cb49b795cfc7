/** Chat21 message status codes (chat21-protocol.md §3.1); the numbers are on the wire. */
export const MessageStatus = {
  FAILED: -100,
  SENDING: 0,
  SENT: 100,
  DELIVERED: 150,
  RECEIVED: 200,
  RETURN_RECEIPT: 250,
  SEEN: 300,
} as const;

export type MessageStatusCode = (typeof MessageStatus)[keyof typeof MessageStatus];

export type MessageStatusName =
  | 'failed'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'received'
  | 'return_receipt'
  | 'seen';

// Written out rather than derived from the keys so the compiler checks each pairing.
const NAMES = new Map<number, MessageStatusName>([
  [MessageStatus.FAILED, 'failed'],
  [MessageStatus.SENDING, 'sending'],
  [MessageStatus.SENT, 'sent'],
  [MessageStatus.DELIVERED, 'delivered'],
  [MessageStatus.RECEIVED, 'received'],
  [MessageStatus.RETURN_RECEIPT, 'return_receipt'],
  [MessageStatus.SEEN, 'seen'],
]);

/** Chat21's lower-case name of a status code; undefined for numbers that are not status codes. */
export function statusName(code: number): MessageStatusName | undefined {
  return NAMES.get(code);
}

export function isMessageStatusCode(value: unknown): value is MessageStatusCode {
  return typeof value === 'number' && NAMES.has(value);
}
