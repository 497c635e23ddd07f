// A Babel plugin for the njs module: njs 0.7.9 runs a module's top level again for every
// request, so each top-level `var NAME = <expression>` (a table, a regex, a class, a library's
// init) becomes a getter that makes the value the first time a request needs it. Functions and
// plain literals stay as they are: they cost nothing to set up.

/** Whether `node` costs nothing to make: a function, or a string, number, boolean or null. */
function free(t, node) {
  return (
    node === null ||
    node === undefined ||
    t.isFunctionExpression(node) ||
    t.isArrowFunctionExpression(node) ||
    t.isStringLiteral(node) ||
    t.isNumericLiteral(node) ||
    t.isBooleanLiteral(node) ||
    t.isNullLiteral(node) ||
    (t.isUnaryExpression(node) && t.isNumericLiteral(node.argument))
  );
}

export default function lazyTopLevel({ types: t }) {
  return {
    name: "lazy-top-level",
    visitor: {
      Program(program) {
        for (const statement of program.get("body")) {
          if (!statement.isVariableDeclaration()) continue;
          const declarations = statement.get("declarations");
          if (declarations.length !== 1) continue;
          const declaration = declarations[0];
          const id = declaration.node.id;
          if (!t.isIdentifier(id) || free(t, declaration.node.init)) continue;
          const binding = program.scope.getBinding(id.name);
          if (binding === undefined || binding.constantViolations.length > 0) continue;
          // An export names the binding itself: leave it.
          if (binding.referencePaths.some((ref) => ref.parentPath.isExportSpecifier())) continue;
          const value = program.scope.generateUidIdentifier(`${id.name}_value`);
          const getter = program.scope.generateUidIdentifier(`${id.name}_lazy`);
          for (const ref of binding.referencePaths) {
            ref.replaceWith(t.callExpression(t.cloneNode(getter), []));
          }
          // var value; function getter() { if (value === undefined) value = init; return value; }
          statement.replaceWithMultiple([
            t.variableDeclaration("var", [t.variableDeclarator(value)]),
            t.functionDeclaration(
              getter,
              [],
              t.blockStatement([
                t.ifStatement(
                  t.binaryExpression("===", t.cloneNode(value), t.identifier("undefined")),
                  t.expressionStatement(
                    t.assignmentExpression("=", t.cloneNode(value), declaration.node.init),
                  ),
                ),
                t.returnStatement(t.cloneNode(value)),
              ]),
            ),
          ]);
        }
      },
    },
  };
}
