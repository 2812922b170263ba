// CSRF prevention for browser clients, as Apollo and Yoga define it: a request a browser
// could send cross-site without a preflight (a GET, or a POST with a "simple" content type)
// must carry a custom header. JSON POSTs, which browsers always preflight, pass unchanged.
import { createGraphQLError, type Plugin } from 'graphql-yoga';

export const CSRF_HEADERS = ['x-graphql-csrf', 'x-graphql-yoga-csrf', 'apollo-require-preflight'];
const SIMPLE_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'];

export function csrfPlugin(): Plugin {
  return {
    onRequestParse({ request }) {
      const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
      const simple = request.method === 'GET' || type === '' || SIMPLE_TYPES.includes(type);
      if (simple && !CSRF_HEADERS.some((h) => request.headers.has(h))) {
        throw createGraphQLError(
          'request blocked as a possible CSRF: send a JSON POST (Content-Type: application/json), ' +
            `or add the header "${CSRF_HEADERS[0]}: 1"`,
          { extensions: { code: 'CSRF_BLOCKED', http: { status: 403 } } },
        );
      }
    },
  };
}
