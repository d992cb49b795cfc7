// The dependency rules of docs/architecture.md ("Dependency rules"), checked by `npm test`
// (scripts/test.sh) and on their own with `npm run lint:deps`. Paths are relative to the repo.

/** A workspace package, as its own folder or as the symlink other packages import it through. */
const PACKAGE = (names) => `^(packages|node_modules/@mercurio)/(${names})/`;
/** The server's composition root: reads the config and wires the parts together; the CLI's commands. */
const ROOT = '^packages/server/src/(main|engine|cli|[^/]+-cli|config|banner|dev-secret|index)[.]ts$';
/** The store's interfaces: what the parts depend on. */
const STORE_INTERFACES = '^packages/server/src/store/(store|types|[^/]+-store|[^/]+-queue)[.]ts$';
/** The store's implementations: SQL, the databases, migrations. */
const STORE_IMPLEMENTATIONS =
  '^packages/server/src/store/([^/]+-sql|sql-store|pg-database|pglite-[^/]+|migrate)[.]ts$';
/** The bus's implementations. */
const BUS_IMPLEMENTATIONS = '^packages/server/src/bus/(rabbitmq-[^/]+[.]ts|embedded/)';
/** Parts that run on either engine and must not know which. */
const ENGINE_BLIND_PARTS = '^packages/server/src/(router|http|webhooks|limits|groups|outbox|auth|metrics)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import circles anywhere in packages/ (type-only imports count).',
      from: { path: '^packages/' },
      to: { circular: true },
    },
    {
      name: 'protocol-imports-nothing-of-ours',
      severity: 'error',
      comment: 'protocol is the bottom: no other package of ours.',
      from: { path: '^packages/protocol/' },
      to: { path: PACKAGE('server|sdk|web') },
    },
    {
      name: 'protocol-no-io',
      severity: 'error',
      comment: 'protocol does no I/O: no Node built-in modules.',
      from: { path: '^packages/protocol/src/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'sdk-only-protocol',
      severity: 'error',
      comment: 'The SDK builds on protocol only (never the server or the web app).',
      from: { path: '^packages/sdk/' },
      to: { path: PACKAGE('server|web') },
    },
    {
      name: 'web-only-sdk-and-protocol',
      severity: 'error',
      comment: 'The web app speaks to the server through the SDK and protocol only.',
      from: { path: '^packages/web/' },
      to: { path: PACKAGE('server') },
    },
    {
      name: 'server-not-clients',
      severity: 'error',
      comment:
        'The server does not import its clients (it serves the built web app as files); its ' +
        'end-to-end tests do use the SDK.',
      from: { path: '^packages/server/src/' },
      to: { path: PACKAGE('sdk|web') },
    },
    {
      name: 'declared-dependencies',
      severity: 'error',
      comment:
        "A package imports only what its own package.json declares (a workspace package's too): " +
        'hoisting in node_modules must not hide a missing declaration.',
      from: { path: '^packages/[^/]+/src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown', 'unknown', 'undetermined'] },
    },
    {
      name: 'parts-never-import-the-composition-root',
      severity: 'error',
      comment:
        'config.ts is the input of the composition root (main.ts, engine.ts); parts get their own ' +
        'settings type (router/settings.ts, http/settings.ts, ...) passed down.',
      from: { path: '^packages/server/src/', pathNot: ROOT },
      to: { path: ROOT },
    },
    {
      name: 'store-interfaces-import-no-implementation',
      severity: 'error',
      comment: 'Implementations import interfaces, never the reverse.',
      from: { path: STORE_INTERFACES, pathNot: STORE_IMPLEMENTATIONS },
      to: { path: STORE_IMPLEMENTATIONS },
    },
    {
      name: 'bus-interface-imports-no-implementation',
      severity: 'error',
      comment: 'The Bus seam (bus/bus.ts) knows no implementation.',
      from: { path: '^packages/server/src/bus/bus[.]ts$' },
      to: { path: BUS_IMPLEMENTATIONS },
    },
    {
      name: 'parts-use-the-store-interfaces',
      severity: 'error',
      comment:
        'The router, the HTTP API, the webhooks, ... use the store through its interfaces ' +
        '(store/*-store.ts, types.ts, ...); only the composition root picks an implementation.',
      from: { path: ENGINE_BLIND_PARTS },
      to: { path: STORE_IMPLEMENTATIONS },
    },
    {
      name: 'parts-use-their-store-slice',
      severity: 'error',
      comment:
        'store/store.ts (every slice in one) is for the composition root and the HTTP API, which ' +
        'runs group administration and its relay; the router, the webhooks, group administration ' +
        'and the outbox relay depend on their own slice (router-store.ts, webhook-queue.ts, ...).',
      from: { path: '^packages/server/src/(router|webhooks|groups|outbox|limits)/' },
      to: { path: '^packages/server/src/store/store[.]ts$' },
    },
    {
      name: 'parts-use-the-bus-interface',
      severity: 'error',
      comment:
        'The router, the HTTP API, ... publish and consume through bus/bus.ts; only the ' +
        'composition root picks RabbitMQ or the embedded broker.',
      from: { path: ENGINE_BLIND_PARTS },
      to: { path: BUS_IMPLEMENTATIONS },
    },
    {
      name: 'store-knows-no-caller',
      severity: 'error',
      comment: 'The store serves the router, the HTTP API and the webhooks; it imports none of them.',
      from: { path: '^packages/server/src/store/' },
      to: { path: '^packages/server/src/(router|http|webhooks|groups|outbox)/' },
    },
    {
      name: 'router-and-http-apart',
      severity: 'error',
      comment:
        'The router and the HTTP API are two callers of the same seams: neither imports the other ' +
        '(what both need lives in a shared module, e.g. views.ts, groups/).',
      from: { path: '^packages/server/src/(router|http)/' },
      to: { path: '^packages/server/src/(router|http)/', pathNot: '^packages/server/src/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Built output, and a package's own node_modules (the root one is only looked into, not cruised).
    exclude: { path: '(^|/)dist/|^packages/[^/]+/node_modules/' },
    // Type-only imports are arrows too: an interface importing its implementation's types is a circle.
    tsPreCompilationDeps: true,
    // A workspace package is seen through its node_modules symlink, so that its import counts as
    // declared or not in the importing package's package.json (npm / npm-no-pkg).
    // Workspace packages resolve to their sources (package.json's "mercurio-source" condition).
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['mercurio-source', 'import', 'types', 'default'],
      extensions: ['.ts', '.js', '.json'],
    },
    combinedDependencies: false,
    preserveSymlinks: true,
    skipAnalysisNotInRules: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
