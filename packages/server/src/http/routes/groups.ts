import { z } from 'zod';
import { GroupAdmin } from '../../groups/group-admin.js';
import { groupView } from '../../groups/group-view.js';
import { assertAdmin, assertApp } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appId, appParams, groupParams, id, jsonObject, membersMap } from '../schemas.js';

const config = { flavour: 'chat21' } as const;
const tags = ['groups'];

/** Chat21 routes 14–22: groups, scoped by app; membership changes by the owner or an admin. */
export function groupRoutes(app: ZodApp, ctx: HttpContext): void {
  const groups = new GroupAdmin({
    store: ctx.store,
    limits: ctx.limits,
    published: () => ctx.publications.flush(),
    groupMaxMembers: ctx.settings.groupMaxMembers,
    now: ctx.now,
    newId: ctx.newId,
  });

  app.post(
    '/:appid/groups',
    {
      config,
      schema: {
        tags,
        summary: 'Chat21 #14: create a group (409 if the id exists; admins may set group_owner)',
        params: appParams,
        body: z.object({
          group_name: z.string({ error: 'group_name not present!' }).min(1, 'group_name not present!'),
          group_members: membersMap('group_members not present!'),
          group_id: id('group id').optional(),
          group_owner: id('group owner').optional(),
          attributes: jsonObject.optional(),
        }),
      },
    },
    async (request, reply) => {
      const { appid } = request.params;
      const caller = callerOf(request);
      assertApp(caller, appid);
      const body = request.body;
      const group = await groups.create(caller, appid, {
        name: body.group_name,
        members: Object.keys(body.group_members),
        groupId: body.group_id,
        owner: body.group_owner,
        attributes: body.attributes,
      });
      return reply.code(201).send({ success: true, group: groupView(group) });
    },
  );

  app.get(
    '/:appid/groups/:group_id',
    {
      config,
      schema: { tags, summary: 'Chat21 #15: a group (members, owner or admin)', params: groupParams },
    },
    async (request) => {
      const { appid, group_id } = request.params;
      const caller = callerOf(request);
      assertApp(caller, appid);
      return { success: true, result: groupView(await groups.get(caller, appid, group_id)) };
    },
  );

  app.post(
    '/:appid/groups/:group_id/members',
    {
      config,
      schema: {
        tags,
        summary: 'Chat21 #16: add a member (owner or admin); they get the newest 200 messages',
        params: groupParams,
        body: z.object({ member_id: id('member id', 'member_id is mandatory!') }),
      },
    },
    async (request) => {
      const { appid, group_id } = request.params;
      const caller = callerOf(request);
      assertApp(caller, appid);
      await groups.join(caller, appid, group_id, request.body.member_id);
      return { success: true };
    },
  );

  app.put(
    '/:appid/groups/:group_id/members',
    {
      config,
      schema: {
        tags,
        summary: 'Chat21 #17: replace the members (owner or admin)',
        params: groupParams,
        body: z.object({ members: membersMap('members is mandatory!') }),
      },
    },
    async (request) => {
      const { appid, group_id } = request.params;
      const caller = callerOf(request);
      assertApp(caller, appid);
      await groups.setMembers(caller, appid, group_id, Object.keys(request.body.members));
      return { success: true };
    },
  );

  app.delete(
    '/:appid/groups/:group_id/members/:member_id',
    {
      config,
      schema: {
        tags,
        summary: 'Chat21 #18: leave (a member removes themself) or remove a member (owner or admin)',
        params: groupParams.extend({ member_id: id('member id') }),
      },
    },
    async (request) => {
      const { appid, group_id, member_id } = request.params;
      const caller = callerOf(request);
      assertApp(caller, appid);
      await groups.leave(caller, appid, group_id, member_id);
      return { success: true };
    },
  );

  app.put(
    '/:appid/groups/:group_id',
    {
      config,
      schema: {
        tags,
        summary: 'Chat21 #19: rename (owner or admin)',
        params: groupParams,
        body: z.object({
          group_name: z.string({ error: 'group_name is mandatory!' }).min(1, 'group_name is mandatory!'),
        }),
      },
    },
    async (request) => {
      const { appid, group_id } = request.params;
      const caller = callerOf(request);
      assertApp(caller, appid);
      await groups.rename(caller, appid, group_id, request.body.group_name);
      return { success: true };
    },
  );

  app.put(
    '/:appid/groups/:group_id/attributes',
    {
      config,
      schema: {
        tags,
        summary: 'Chat21 #20: replace the attributes (owner or admin)',
        params: groupParams,
        body: z.object({
          attributes: z.record(z.string(), z.unknown(), { error: 'attributes is mandatory!' }),
        }),
      },
    },
    async (request) => {
      const { appid, group_id } = request.params;
      const caller = callerOf(request);
      assertApp(caller, appid);
      await groups.setAttributes(caller, appid, group_id, request.body.attributes);
      return { success: true };
    },
  );

  const timelineParams = z.object({ appid: appId(), group_id: id('group id') });
  app.delete(
    '/:appid/:group_id/conversations/timelines',
    {
      config,
      schema: {
        tags,
        summary: "Chat21 #21: delete every user's conversation with the group (admin only)",
        params: timelineParams,
      },
    },
    async (request) => {
      const { appid, group_id } = request.params;
      assertAdmin(callerOf(request), appid);
      const deleted = await ctx.store.deleteGroupConversations(appid, group_id);
      return { success: true, deleted };
    },
  );
  app.delete(
    '/:appid/:group_id/messages/timelines',
    {
      config,
      schema: {
        tags,
        summary: "Chat21 #22: delete the group's stored messages (admin only)",
        params: timelineParams,
      },
    },
    async (request) => {
      const { appid, group_id } = request.params;
      assertAdmin(callerOf(request), appid);
      const deleted = await ctx.store.deleteGroupMessages(appid, group_id);
      return { success: true, deleted };
    },
  );
}
