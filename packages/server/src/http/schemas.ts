import { checkAppId, checkId, type IdCheck } from '@mercurio/protocol';
import { z } from 'zod';

const fromCheck = (check: (value: string) => IdCheck, message?: string) =>
  z.string(message ? { error: message } : undefined).superRefine((value, ctx) => {
    const result = check(value);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.reason });
  });

/** An id that becomes a topic level (ids.ts rules); `message` replaces "expected string". */
export const id = (what: string, message?: string) => fromCheck((value) => checkId(value, what), message);
export const appId = () => fromCheck((value) => checkAppId(value));

/** Free-form JSON object (attributes). */
export const jsonObject = z.record(z.string(), z.unknown());

/** `{<uid>: 1}` (Chat21's members map); the keys must be valid ids. */
export const membersMap = (message: string) =>
  z.record(z.string(), z.unknown(), { error: message }).superRefine((members, ctx) => {
    for (const member of Object.keys(members)) {
      const check = checkId(member, 'member id');
      if (!check.ok) ctx.addIssue({ code: 'custom', message: check.reason, path: [member] });
    }
  });

/** A whole number from the query string. */
export const queryInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const appParams = z.object({ appid: appId() });
export const userParams = z.object({ appid: appId(), userid: id('user id') });
export const conversationParams = z.object({
  appid: appId(),
  userid: id('user id'),
  convid: id('conversation id'),
});
export const groupParams = z.object({ appid: appId(), group_id: id('group id') });

export type AppParams = z.infer<typeof appParams>;
