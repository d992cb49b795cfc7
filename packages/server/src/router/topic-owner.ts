import { checkAppId, checkId, type TopicForm } from '@mercurio/protocol';

/**
 * For a topic the grammar refused: whose namespace was it published in? The broker only lets a
 * user publish in their own (`apps/<app>/users/<me>/…`, `apps/<app>/outgoing/users/<me>/…`), so
 * that user can be told why, even though the rest of the topic is unusable.
 */
export function unparsedTopicOwner(
  topic: string,
  form: TopicForm,
): { app: string; user: string } | undefined {
  const levels = topic.split(form === 'amqp' ? '.' : '/');
  if (levels[0] !== 'apps') return undefined;
  const app = levels[1];
  const user =
    levels[2] === 'users'
      ? levels[3]
      : levels[2] === 'outgoing' && levels[3] === 'users'
        ? levels[4]
        : undefined;
  if (!checkAppId(app).ok || !checkId(user).ok) return undefined;
  return { app: app!, user: user! };
}
