import { CHAT21_BODY_VALIDATION_STATUS, ERROR_CODE_HEADER, httpStatusTable } from './errors.js';

/**
 * docs/errors.md, generated from the catalogue (packages/protocol/src/errors.ts) and the HTTP
 * mapping (errors.ts). A test fails when the file and this text differ; regenerate with
 * `MERCURIO_UPDATE_DOCS=1 npx vitest run --project server packages/server/test/http-error-docs.test.ts`.
 */
export function renderErrorDocs(): string {
  const table = markdownTable(
    ['Code', 'Status', 'Chat21 status', 'Meaning'],
    httpStatusTable().map((row) => [
      `\`${row.code}\``,
      String(row.status),
      row.chat21Status === row.status ? '' : String(row.chat21Status),
      row.description.replaceAll('|', '\\|'),
    ]),
  );
  return `# Errors

<!-- Generated from packages/protocol/src/errors.ts and packages/server/src/http/errors.ts by
     packages/server/src/http/error-docs.ts; a test keeps this file in sync. Do not edit by hand. -->

Every error Mercurio reports has a stable **code**: clients switch on it; a code is never renamed or
reused. The same codes are used on the wire (error events published to
\`apps/<app>/users/<me>/errors/clientadded\`, see protocol.md) and over HTTP.

## Over HTTP

Every error response carries its code in the \`${ERROR_CODE_HEADER}\` header, whatever its body.

**Mercurio routes** (\`/v1/…\`) answer with the status in the table and this body:

\`\`\`json
{ "success": false, "err": { "code": "forbidden", "message": "alice may not act for bob" } }
\`\`\`

Validation errors add \`issues\` (\`[{path, message}]\`) to \`err\`.

**Chat21 routes** keep Chat21's shapes, so Chat21 clients and Tiledesk read them unchanged:

- a missing, invalid or expired token: \`403\` \`{"success": false, "msg": "Unauthorized."}\`;
- a request body without a mandatory field or of the wrong shape: \`${CHAT21_BODY_VALIDATION_STATUS}\` with a plain-text
  message (Chat21's texts: \`Sender Fullname is mandatory\`, \`group_name not present!\`, …);
- anything else: \`{"success": false, "err": "<message>", "code": "<code>"}\` with the status of the
  _Chat21 status_ column when it has one (Chat21 answered 401 for another user's or app's data),
  else the status column.

An unexpected failure (broker down) is \`500\` \`internal_error\`: it is logged, and the request
may be retried (message sends are idempotent when the client supplies \`message_id\`). A database
that does not answer within its timeouts is \`503\` \`store_unavailable\`, with \`Retry-After\`.

${table}
`;
}

/** A table padded the way the repository's formatter (biome) writes it. */
function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
