/**
 * ESLint flat config. Besides typescript-eslint's recommended rules, it enforces the layering of src/:
 *
 *   shared    pure TS (no Node, no DOM-only APIs, no electron); imports only shared
 *   node      Node helpers shared by the Node programs; imports node, shared
 *   agent     imports agent, node, shared            ┐ the three programs share only
 *   server    imports server, node, shared           │ shared (and the Node helpers),
 *   client    imports client, node, shared           ┘ never each other
 *   cli       the command-line entry points; anything but main, preload, renderer
 *   main      Electron main + browser shell; not renderer, preload, cli
 *   preload   imports only `electron` and shared
 *   renderer  DOM/React + shared; no Node built-ins, no electron
 *   `electron` itself may be imported only in src/main/electron and src/preload.
 *
 * The three programs (server, agent, client) each have a public surface, their `index.ts`: from another
 * layer (cli, main) only `../server/index.js` may be imported, never `../server/db.js`; inside a program,
 * files import each other freely. The rule covers src/ only: tests, bench/ and scripts/ may import any file
 * of a program (they test and measure its internals).
 * Inside src/server, only the composition root (service.ts) imports src/server/cluster (`lr/cluster-direction`).
 *
 * Two mechanisms: `no-restricted-imports` for package names (Node built-ins, electron), and the small
 * local rule `lr/layering` below for relative paths (resolved against the importing file, so
 * `../server/x.js` is caught whatever the depth) and for dynamic import()/require() of forbidden packages.
 *
 * The layering rules are errors and stay strict. Purely stylistic rules are relaxed where the code base
 * already disagrees with them; see STYLE_RELAXATIONS.
 */
import { builtinModules } from 'node:module';
import path from 'node:path';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ROOT = import.meta.dirname;

// ---------------------------------------------------------------------------------------------------------
// The layer table
// ---------------------------------------------------------------------------------------------------------

/** For each top-level folder of src/, the folders its files may import from by relative path. */
const MAY_IMPORT = {
  shared: ['shared'],
  node: ['node', 'shared'],
  agent: ['agent', 'node', 'shared'],
  server: ['server', 'node', 'shared'],
  client: ['client', 'node', 'shared'],
  cli: ['cli', 'agent', 'server', 'client', 'node', 'shared'],
  main: ['main', 'server', 'client', 'agent', 'node', 'shared'],
  preload: ['preload', 'shared'],
  renderer: ['renderer', 'shared'],
};

/** The programs whose files other layers may import only through one file, their public surface. */
const PUBLIC_SURFACE = {
  server: 'src/server/index.ts',
  agent: 'src/agent/index.ts',
  client: 'src/client/index.ts',
};

/** Layers whose code runs without Node (browser sandbox or anywhere): no built-ins, nothing outside src/. */
const NODE_FREE_LAYERS = new Set(['shared', 'renderer', 'preload']);

const NODE_BUILTINS = [...new Set(builtinModules.filter((name) => !name.startsWith('_')))];

// ---------------------------------------------------------------------------------------------------------
// Package-name restrictions (no-restricted-imports). Flat config does not merge a rule's options across
// config objects, so each layer gets its complete list from one function.
// ---------------------------------------------------------------------------------------------------------

const NO_NODE_MESSAGE =
  'runs in the sandboxed renderer or anywhere: no Node built-ins (put Node code in src/main or src/node).';
const NO_ELECTRON_MESSAGE =
  'only src/main/electron (and src/preload) may import electron: write services against small interfaces.';

function nodeBuiltinRestrictions(layerName) {
  return {
    paths: NODE_BUILTINS.map((name) => ({ name, message: `src/${layerName} ${NO_NODE_MESSAGE}` })),
    patterns: [
      { regex: '^node:', message: `src/${layerName} ${NO_NODE_MESSAGE}` },
      // Sub-paths such as fs/promises, path/posix, stream/web.
      { regex: `^(${NODE_BUILTINS.map(escapeRegExp).join('|')})/`, message: `src/${layerName} ${NO_NODE_MESSAGE}` },
    ],
  };
}

function electronRestrictions(layerName) {
  return {
    paths: [{ name: 'electron', message: `src/${layerName}: ${NO_ELECTRON_MESSAGE}` }],
    patterns: [{ regex: '^electron/', message: `src/${layerName}: ${NO_ELECTRON_MESSAGE}` }],
  };
}

// Components ask main for things through the stores' dispatcher (src/renderer/src/state/dispatcher.ts),
// never through the API object itself: what the UI can do to main stays listed in one place.
const COMPONENTS_USE_THE_DISPATCHER = {
  paths: [],
  patterns: [
    {
      regex: '/api/(call|transport)(\\.js)?$',
      message: 'components call the actions of src/renderer/src/state/dispatcher.ts, not the IPC API.',
    },
  ],
};

function restrictedImports(...parts) {
  return [
    'error',
    {
      paths: parts.flatMap((part) => part.paths),
      patterns: parts.flatMap((part) => part.patterns),
    },
  ];
}

const PRELOAD_ONLY_ELECTRON = [
  'error',
  {
    patterns: [
      {
        // Any package other than electron (relative paths are checked by lr/layering).
        regex: '^(?!electron$)(?![./])',
        message: 'src/preload may import only electron and src/shared (it is bundled into one sandboxed file).',
      },
    ],
  },
];

// ---------------------------------------------------------------------------------------------------------
// lr/layering: relative imports across layers, and dynamic import()/require() of forbidden packages
// ---------------------------------------------------------------------------------------------------------

/** The layer of a file (`main`, `renderer`, ...), or undefined outside src/<known layer>/. */
function layerOf(absolutePath) {
  const relative = path.relative(ROOT, absolutePath).split(path.sep);
  if (relative[0] !== 'src' || relative.length < 3) return undefined;
  return Object.hasOwn(MAY_IMPORT, relative[1]) ? relative[1] : undefined;
}

function isInside(dir, file) {
  return file === dir || file.startsWith(dir + path.sep);
}

function isForbiddenPackage(layer, filename, specifier) {
  const name = specifier.startsWith('node:') ? specifier.slice(5) : specifier;
  const isBuiltin = specifier.startsWith('node:') || NODE_BUILTINS.includes(name.split('/')[0]);
  const isElectron = specifier === 'electron' || specifier.startsWith('electron/');
  if (layer === 'preload') return specifier !== 'electron';
  if (NODE_FREE_LAYERS.has(layer) && isBuiltin) return true;
  return isElectron && !isInside(path.join(ROOT, 'src', 'main', 'electron'), filename);
}

const layeringRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Keeps src/ layers from importing what they must not (see eslint.config.js).' },
    schema: [],
    messages: {
      crossLayer: 'src/{{from}} may not import from src/{{to}} (allowed: {{allowed}}).',
      outsideSrc: 'src/{{from}} may import only from src/ (this resolves to {{target}}).',
      dynamicPackage: 'src/{{from}} may not load "{{specifier}}" (dynamic import or require).',
      deepImport:
        'src/{{from}} may import src/{{to}} only through its public surface {{surface}}: import from "{{instead}}" (export what is needed there).',
    },
  },
  create(context) {
    const filename = context.filename;
    const from = layerOf(filename);
    if (!from) return {};

    function check(node, specifier, dynamic) {
      if (typeof specifier !== 'string') return;
      if (!specifier.startsWith('.')) {
        if (dynamic && isForbiddenPackage(from, filename, specifier)) {
          context.report({ node, messageId: 'dynamicPackage', data: { from, specifier } });
        }
        return;
      }
      const target = path.resolve(path.dirname(filename), specifier);
      const srcDir = path.join(ROOT, 'src');
      if (!isInside(srcDir, target)) {
        if (NODE_FREE_LAYERS.has(from)) {
          context.report({ node, messageId: 'outsideSrc', data: { from, target: path.relative(ROOT, target) } });
        }
        return;
      }
      const to = path.relative(srcDir, target).split(path.sep)[0];
      if (to && Object.hasOwn(MAY_IMPORT, to) && !MAY_IMPORT[from].includes(to)) {
        context.report({ node, messageId: 'crossLayer', data: { from, to, allowed: MAY_IMPORT[from].join(', ') } });
        return;
      }
      if (to !== from && Object.hasOwn(PUBLIC_SURFACE, to) && !isSurface(to, target)) {
        const surface = PUBLIC_SURFACE[to];
        const instead = toSpecifier(
          path.relative(path.dirname(filename), path.join(ROOT, surface.replace(/\.ts$/, '.js'))),
        );
        context.report({ node, messageId: 'deepImport', data: { from, to, surface, instead } });
      }
    }

    const literal = (node) => (node && node.type === 'Literal' ? node.value : undefined);
    return {
      ImportDeclaration: (node) => check(node, node.source.value, false),
      ExportAllDeclaration: (node) => check(node, node.source.value, false),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, false),
      ImportExpression: (node) => check(node, literal(node.source), true),
      TSImportEqualsDeclaration: (node) =>
        node.moduleReference.type === 'TSExternalModuleReference' &&
        check(node, literal(node.moduleReference.expression), true),
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require')
          check(node, literal(node.arguments[0]), true);
      },
    };
  },
};

/** Whether `target` (a resolved import path) is the public surface of `program` (`index.js` or `index.ts`). */
function isSurface(program, target) {
  const surface = path.join(ROOT, PUBLIC_SURFACE[program]);
  return target === surface || target === surface.replace(/\.ts$/, '.js');
}

/** A relative path as an import specifier (`./x.js` rather than `x.js`), with forward slashes. */
function toSpecifier(relative) {
  const posix = relative.split(path.sep).join('/');
  return posix.startsWith('.') ? posix : `./${posix}`;
}

// ---------------------------------------------------------------------------------------------------------
// lr/cluster-direction: inside src/server, the cluster code depends on the core, never the reverse
// ---------------------------------------------------------------------------------------------------------

const SERVER_DIR = path.join(ROOT, 'src', 'server');
const CLUSTER_DIR = path.join(SERVER_DIR, 'cluster');
/**
 * The service's composition root builds the core and the cluster and wires them; the public surface may
 * re-export cluster parts for the CLI. Every other file of src/server outside cluster/ uses interfaces it
 * defines itself (the session ledger, the command log source…), which cluster/ implements.
 */
const CLUSTER_ROOTS = new Set(['service.ts', 'index.ts'].map((file) => path.join(SERVER_DIR, file)));

const clusterDirectionRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Only the composition root of src/server may import src/server/cluster.' },
    schema: [],
    messages: {
      coreImportsCluster:
        'src/server/{{file}} may not import from src/server/cluster ({{specifier}}): define the interface here, implement it in cluster/, wire it in service.ts.',
    },
  },
  create(context) {
    const filename = context.filename;
    if (!isInside(SERVER_DIR, filename) || isInside(CLUSTER_DIR, filename) || CLUSTER_ROOTS.has(filename)) return {};
    function check(node, specifier) {
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      if (!isInside(CLUSTER_DIR, path.resolve(path.dirname(filename), specifier))) return;
      context.report({
        node,
        messageId: 'coreImportsCluster',
        data: { file: path.relative(SERVER_DIR, filename), specifier },
      });
    }
    const literal = (node) => (node && node.type === 'Literal' ? node.value : undefined);
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ImportExpression: (node) => check(node, literal(node.source)),
    };
  },
};

const localPlugin = {
  meta: { name: 'lr' },
  rules: { layering: layeringRule, 'cluster-direction': clusterDirectionRule },
};

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------------------
// Stylistic rules relaxed for the whole tree (they flag taste, not bugs)
// ---------------------------------------------------------------------------------------------------------

const STYLE_RELAXATIONS = {
  // `_unused` parameters document a signature; unused catch bindings and rest siblings are common idioms.
  '@typescript-eslint/no-unused-vars': [
    'error',
    { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
  ],
  // Control characters in regexes are deliberate in terminal/ANSI and input-sanitising code.
  'no-control-regex': 'off',
  // `async function* sink(source) { for await (const _ of source) {} }` is Node's idiom for a pipeline()
  // sink: a generator that never yields is intended there.
  'require-yield': 'off',
  // `if (x) (a.push(1), b.push(2));` is a matter of taste; the rule cannot tell it from a forgotten call.
  '@typescript-eslint/no-unused-expressions': 'off',
  // Also new in ESLint 10: flags `let x = []` initialisers that every branch overwrites. Harmless.
  'no-useless-assignment': 'off',
  // Prettier formats to 120 columns (`npm run format`; `npm run lint` checks it); this catches what it cannot
  // break: comments, and code it leaves whole. Strings, template literals (SQL, scripts), regular expressions
  // and URLs may run longer, so that a message or a pattern stays whole and greppable.
  'max-len': [
    'error',
    { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
  ],
};

// ---------------------------------------------------------------------------------------------------------

const SRC = (layer) => [`src/${layer}/**/*.{ts,tsx,js,mjs,cjs}`];

export default defineConfig(
  {
    ignores: [
      'out/**',
      'dist/**',
      'node_modules/**',
      'test/lint-fixtures/**',
      'coverage/**',
      'test-results/**',
      '**/.*.[0-9]*.mjs',
    ],
  },

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    // Some files still carry `eslint-disable` comments for rules relaxed above; they must not fail the build.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    plugins: { lr: localPlugin },
    rules: { ...STYLE_RELAXATIONS, 'lr/layering': 'error', 'lr/cluster-direction': 'error' },
  },

  // Browser-side code gets browser globals instead of Node's.
  { files: [...SRC('renderer')], languageOptions: { globals: { ...globals.browser } } },
  { files: [...SRC('shared')], languageOptions: { globals: { ...globals['shared-node-browser'] } } },

  // Package-name restrictions, one complete list per layer.
  {
    files: SRC('renderer'),
    rules: {
      'no-restricted-imports': restrictedImports(nodeBuiltinRestrictions('renderer'), electronRestrictions('renderer')),
    },
  },
  {
    files: SRC('renderer/src/components'),
    rules: {
      'no-restricted-imports': restrictedImports(
        nodeBuiltinRestrictions('renderer'),
        electronRestrictions('renderer'),
        COMPONENTS_USE_THE_DISPATCHER,
      ),
    },
  },
  {
    files: SRC('shared'),
    rules: {
      'no-restricted-imports': restrictedImports(nodeBuiltinRestrictions('shared'), electronRestrictions('shared')),
    },
  },
  { files: SRC('preload'), rules: { 'no-restricted-imports': PRELOAD_ONLY_ELECTRON } },
  ...['node', 'agent', 'server', 'client', 'cli', 'main'].map((layer) => ({
    files: SRC(layer),
    ...(layer === 'main' ? { ignores: SRC('main/electron') } : {}),
    rules: { 'no-restricted-imports': restrictedImports(electronRestrictions(layer)) },
  })),

  // Type-aware rules: a promise nobody awaits or handles loses its error (an unhandled rejection ends the
  // program). Fire-and-forget is allowed, but written as `void p` (or `.catch(...)`) so it is visible.
  // The TypeScript files belong to one of the two projects (the renderer to tsconfig.web.json). Only src/:
  // type information makes the lint about three times slower, and four times over test/ as well.
  {
    files: ['src/**/*.{ts,tsx}'],
    languageOptions: { parserOptions: { project: ['./tsconfig.json', './tsconfig.web.json'], tsconfigRootDir: ROOT } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },

  // Plain JS files (configs, scripts) are not TypeScript.
  { files: ['**/*.{js,mjs,cjs}'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
