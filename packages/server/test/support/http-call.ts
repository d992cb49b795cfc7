import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** An HTTP API call as a client makes it: the raw token in `Authorization`, a JSON body if any. */
export function callApi(
  api: FastifyInstance,
  token: string,
  method: HttpMethod,
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return api.inject({
    method,
    url,
    headers: {
      authorization: token,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
}
