const fs = require('node:fs');
const path = require('node:path');

/**
 * A folder with an `index.ts` is a unit: modules outside it import only that front door.
 * For an import, the outermost unit that holds its target but not the importing file is the
 * door it must go through; a module inside a unit imports its own unit's files freely.
 */
const EXTENSIONS = ['.ts', '.tsx', '/index.ts'];

function resolveTarget(fromFile, specifier) {
  const base = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [base, ...EXTENSIONS.map((ext) => base + ext)]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const isUnit = (dir) => fs.existsSync(path.join(dir, 'index.ts'));
const contains = (dir, file) => file.startsWith(dir + path.sep);

/** The outermost unit folder between `root` and `target` that does not hold `file`, if any. */
function doorFor(root, file, target) {
  const targetDir = path.basename(target) === 'index.ts' ? path.dirname(target) : undefined;
  let dir = path.dirname(target);
  const chain = [];
  while (contains(root, dir) || dir === root) {
    if (dir !== root && isUnit(dir) && !contains(dir, file)) chain.unshift(dir);
    if (dir === root) break;
    dir = path.dirname(dir);
  }
  const door = chain[0];
  if (!door || door === targetDir) return undefined;
  return door;
}

module.exports = {
  rules: {
    'front-doors': {
      meta: {
        type: 'problem',
        schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
        messages: {
          pastDoor: "'{{specifier}}' reaches past the front door of {{door}}/: import '{{suggested}}' (its index.ts).",
        },
      },
      create(context) {
        const root = path.resolve(context.cwd, context.options[0]?.root ?? 'src');
        const file = context.filename;
        const check = (node, source) => {
          if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
          const target = resolveTarget(file, source.value);
          if (!target) return;
          const door = doorFor(root, file, target);
          if (!door) return;
          let suggested = path.relative(path.dirname(file), door).split(path.sep).join('/');
          if (!suggested.startsWith('.')) suggested = `./${suggested}`;
          context.report({
            node: source,
            messageId: 'pastDoor',
            data: { specifier: source.value, door: path.relative(root, door), suggested },
          });
        };
        return {
          ImportDeclaration: (node) => check(node, node.source),
          ExportNamedDeclaration: (node) => check(node, node.source),
          ExportAllDeclaration: (node) => check(node, node.source),
          ImportExpression: (node) => check(node, node.source),
          CallExpression: (node) => {
            if (node.callee.type === 'Identifier' && node.callee.name === 'require') check(node, node.arguments[0]);
          },
        };
      },
    },
  },
};
