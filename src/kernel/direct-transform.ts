// The TypeScript transformer that gives protocol generators their direct form (see direct.ts):
// run by the build (scripts/build.mjs) over src/, and by the plug-in loader over a plug-in.
//
// For every generator function with a body it adds a plain function with the same parameters and
// the body rewritten, leaving the generator as it is (controlled mode runs it):
//
//   function* f(...) {...}            + attach(f, function (...) {...'})   after the declaration
//   function* (...) {...}             -> withDirect(function* (...) {...}, function (...) {...'})
//   { *m(...) {...}, ... }            -> methods({ *m(...) {...}, ... }, { m(...) {...'} })
//
// A plain function or method declared to return a `Step` whose whole body is `return g(...)`, and
// an arrow `key: (...) => g(...)` in an object literal (wrappers that pick the generator to run or
// pass arguments on), get one too, made from `return yield* g(...)`.
//
// and in the copy {...}', of this function's own yields (nested functions are left alone):
//
//   yield 'label'   -> point($l_N)           ($l_N = label('label'), once per module)
//   yield x         -> y(x)
//   yield* o.m(a)   -> ($o = o, $f = $o.m, $f.$d !== undefined ? $f.$d.call($o, a) : drive($f.call($o, a)))
//   yield* g(a)     -> ($f = g, $f.$d !== undefined ? $f.$d(a) : drive($f(a)))
//   yield* x        -> drive(x)
//
// Class methods and computed method names get no direct form (their callers drive them as
// generators). Types in the copy are erased by the compiler as everywhere else.
import ts from 'typescript';

export interface DirectTransformOptions {
  /** Should this source file be transformed? (default: every file with a generator) */
  include?(fileName: string): boolean;
  /** How the emitted code reaches the runtime (direct.ts): an import specifier relative to the
   * file, or 'global' (globalThis[Symbol.for('pagelock-stress.direct')], for a plug-in). */
  runtime(fileName: string): string | 'global';
}

const RT = ['label', 'point', 'y', 'drive', 'attach', 'withDirect', 'methods'] as const;
type Rt = (typeof RT)[number];

function hasFunctions(sf: ts.SourceFile): boolean {
  let found = false;
  const look = (n: ts.Node): void => {
    if (found) return;
    if (((ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isMethodDeclaration(n)) && n.body) || ts.isArrowFunction(n)) {
      found = true;
      return;
    }
    ts.forEachChild(n, look);
  };
  look(sf);
  return found;
}

const isFunctionLike = (n: ts.Node): boolean =>
  ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n)
  || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n) || ts.isConstructorDeclaration(n)
  || ts.isClassDeclaration(n) || ts.isClassExpression(n);

export function directTransformer(o: DirectTransformOptions): ts.TransformerFactory<ts.SourceFile> {
  return (context) => {
    const f = context.factory;
    return (sf) => {
      if ((o.include && !o.include(sf.fileName)) || !hasFunctions(sf)) return sf;
      const rt = {} as Record<Rt, ts.Identifier>;
      for (const k of RT) rt[k] = f.createUniqueName(`$direct_${k}`);
      const labels = new Map<string, ts.Identifier>();
      const labelId = (s: string): ts.Identifier => {
        let id = labels.get(s);
        if (!id) labels.set(s, (id = f.createUniqueName('$l')));
        return id;
      };
      const call = (fn: ts.Expression, args: readonly ts.Expression[]) => f.createCallExpression(fn, undefined, args);
      const prop = (e: ts.Expression, name: string) => f.createPropertyAccessExpression(e, name);

      /** The direct copy of a generator's body. */
      function directBody(body: ts.Block): ts.Block {
        const temps: ts.Identifier[] = [];
        const temp = (name: string) => {
          const id = f.createUniqueName(name);
          temps.push(id);
          return id;
        };
        const rewrite = (n: ts.Node): ts.Node => {
          if (isFunctionLike(n)) return n;
          if (!ts.isYieldExpression(n)) return ts.visitEachChild(n, rewrite, context);
          const e = n.expression ? (ts.visitNode(n.expression, rewrite) as ts.Expression) : undefined;
          if (!n.asteriskToken) {
            if (e && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e))) return call(rt.point, [labelId(e.text)]);
            return call(rt.y, [e ?? f.createVoidZero()]);
          }
          const target = e && ts.isParenthesizedExpression(e) ? e.expression : e!;
          if (ts.isCallExpression(target) && !target.questionDotToken && !(target.flags & ts.NodeFlags.OptionalChain)) {
            const fn = temp('$f');
            const d = prop(fn, '$d');
            const args = target.arguments;
            const callee = ts.isParenthesizedExpression(target.expression) ? target.expression.expression : target.expression;
            if (ts.isPropertyAccessExpression(callee) && !callee.questionDotToken && !ts.isPrivateIdentifier(callee.name)) {
              const self = temp('$o');
              return f.createParenthesizedExpression(f.createCommaListExpression([
                f.createAssignment(self, callee.expression),
                f.createAssignment(fn, prop(self, callee.name.text)),
                f.createConditionalExpression(
                  f.createStrictInequality(d, f.createIdentifier('undefined')), undefined,
                  call(prop(d, 'call'), [self, ...args]), undefined,
                  call(rt.drive, [call(prop(fn, 'call'), [self, ...args])])),
              ]));
            }
            return f.createParenthesizedExpression(f.createCommaListExpression([
              f.createAssignment(fn, callee),
              f.createConditionalExpression(
                f.createStrictInequality(d, f.createIdentifier('undefined')), undefined,
                call(d, args), undefined,
                call(rt.drive, [call(fn, args)])),
            ]));
          }
          return call(rt.drive, [target]);
        };
        const stmts = ts.visitNodes(body.statements, rewrite) as ts.NodeArray<ts.Statement>;
        const decl = temps.length
          ? [f.createVariableStatement(undefined, f.createVariableDeclarationList(temps.map((t) => f.createVariableDeclaration(t)), ts.NodeFlags.Let))]
          : [];
        return f.createBlock([...decl, ...stmts], true);
      }

      /** A plain function declared to return a Step whose body is `return g(...)` (a wrapper:
       * `yield* wrapper(...)` is `yield* g(...)`): its direct form returns g's direct call. */
      const isStepWrapper = (n: ts.FunctionDeclaration | ts.MethodDeclaration): boolean =>
        !n.asteriskToken && !!n.body && n.body.statements.length === 1 && !!n.type && ts.isTypeReferenceNode(n.type)
        && ts.isIdentifier(n.type.typeName) && n.type.typeName.text === 'Step'
        && ts.isReturnStatement(n.body.statements[0]) && !!n.body.statements[0].expression
        && ts.isCallExpression(n.body.statements[0].expression);

      const directFn = (n: ts.FunctionDeclaration | ts.FunctionExpression | ts.MethodDeclaration | ts.ArrowFunction): ts.FunctionExpression => {
        const wrapped = (e: ts.Expression) =>
          f.createBlock([f.createReturnStatement(f.createYieldExpression(f.createToken(ts.SyntaxKind.AsteriskToken), e))], true);
        // a wrapper's `return g(...)` (or `(...) => g(...)`) read as `return yield* g(...)`
        const body = ts.isArrowFunction(n) ? wrapped(n.body as ts.Expression)
          : n.asteriskToken ? n.body! : wrapped((n.body!.statements[0] as ts.ReturnStatement).expression!);
        return f.createFunctionExpression(undefined, undefined, undefined, undefined, n.parameters, undefined, directBody(body));
      };
      /** `key: (...) => g(...)` in an object literal (a table entry that passes arguments on): its
       * direct form is g's direct call. Harmless on an entry that returns no Step: a direct form
       * is only ever called where the generator form would be delegated to (`yield*`). */
      const arrowWrapper = (p: ts.ObjectLiteralElementLike): ts.ArrowFunction | undefined => {
        if (!ts.isPropertyAssignment(p) || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) return undefined;
        const a = ts.isParenthesizedExpression(p.initializer) ? p.initializer.expression : p.initializer;
        return ts.isArrowFunction(a) && ts.isCallExpression(a.body) ? a : undefined;
      };

      let made = false;
      const visit = (n: ts.Node): ts.Node | ts.Node[] => {
        if (ts.isFunctionDeclaration(n) && (n.asteriskToken || isStepWrapper(n)) && n.body && n.name) {
          const d = directFn(n);
          made = true;
          const gen = ts.visitEachChild(n, visit, context);
          return [gen, f.createExpressionStatement(call(rt.attach, [n.name, d]))];
        }
        if (ts.isFunctionExpression(n) && n.asteriskToken && n.body) {
          const d = directFn(n);
          made = true;
          return call(rt.withDirect, [ts.visitEachChild(n, visit, context) as ts.Expression, d]);
        }
        if (ts.isObjectLiteralExpression(n)) {
          const ds: ts.ObjectLiteralElementLike[] = [];
          for (const p of n.properties) {
            if (ts.isMethodDeclaration(p) && (p.asteriskToken || isStepWrapper(p)) && p.body && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)))
              ds.push(f.createPropertyAssignment(f.createStringLiteral(p.name.text), directFn(p)));
            const a = arrowWrapper(p);
            if (a) ds.push(f.createPropertyAssignment(f.createStringLiteral(((p as ts.PropertyAssignment).name as ts.Identifier | ts.StringLiteral).text), directFn(a)));
          }
          const lit = ts.visitEachChild(n, visit, context);
          if (ds.length) made = true;
          return ds.length ? call(rt.methods, [lit, f.createObjectLiteralExpression(ds, true)]) : lit;
        }
        return ts.visitEachChild(n, visit, context);
      };

      const body = ts.visitNodes(sf.statements, visit) as ts.NodeArray<ts.Statement>;
      if (!made) return sf; // functions, but nothing with a direct form: the module as it was
      const where = o.runtime(sf.fileName);
      const head: ts.Statement[] = [];
      if (where === 'global') {
        // const { label: $direct_label, ... } = globalThis[Symbol.for('pagelock-stress.direct')];
        head.push(f.createVariableStatement(undefined, f.createVariableDeclarationList([f.createVariableDeclaration(
          f.createObjectBindingPattern(RT.map((k) => f.createBindingElement(undefined, k, rt[k]))), undefined, undefined,
          f.createElementAccessExpression(f.createIdentifier('globalThis'),
            call(prop(f.createIdentifier('Symbol'), 'for'), [f.createStringLiteral('pagelock-stress.direct')])))], ts.NodeFlags.Const)));
      } else {
        head.push(f.createImportDeclaration(undefined, f.createImportClause(false, undefined, f.createNamedImports(
          RT.map((k) => f.createImportSpecifier(false, f.createIdentifier(k), rt[k])))), f.createStringLiteral(where)));
      }
      for (const [s, id] of labels)
        head.push(f.createVariableStatement(undefined, f.createVariableDeclarationList(
          [f.createVariableDeclaration(id, undefined, undefined, call(rt.label, [f.createStringLiteral(s)]))], ts.NodeFlags.Const)));
      // imports stay first (a module's own imports are hoisted anyway); the labels before any code
      const firstCode = body.findIndex((s) => !ts.isImportDeclaration(s));
      const at = firstCode < 0 ? body.length : firstCode;
      return f.updateSourceFile(sf, [...body.slice(0, at), ...head, ...body.slice(at)]);
    };
  };
}

/** Transpile one module (a plug-in) with its direct forms, reaching the runtime through
 * globalThis; null if it has syntax errors (the caller then loads it as it is, and reports them
 * as it always did). */
export function transpileDirect(source: string, fileName: string): string | null {
  const r = ts.transpileModule(source, {
    fileName,
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: false },
    transformers: { before: [directTransformer({ runtime: () => 'global' })] },
  });
  return r.diagnostics?.some((d) => d.category === ts.DiagnosticCategory.Error) ? null : r.outputText;
}
