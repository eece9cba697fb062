/**
 * A command's parameters as values, derived from its catalog entry: the type the agent's `run` receives
 * (`ParamsOf<'dir'>`) and the zod schema that checks what the service sends (`paramsSchema(spec)`). The
 * agent extends the derived schema where it checks more (a minimum, a pattern, the `_`-prefixed values the
 * service adds), and `ParamsAgree` makes a schema that disagrees with the catalog a compile error: adding,
 * removing or retyping a parameter is done in the catalog only.
 */
import { z } from 'zod';
import type { CommandName, CommandSpec, ParamSpec, SpecOf } from './catalog.js';

/** The value a bound parameter has: string, int → number, flag → boolean, enum → one of its values. */
type ValueOf<P extends ParamSpec> = P['type'] extends 'int'
  ? number
  : P['type'] extends 'flag'
    ? boolean
    : P['type'] extends 'enum'
      ? P extends { values: readonly (infer V)[] }
        ? V
        : string
      : string;

type Bound<P extends ParamSpec> = P['name'] extends 'output' ? never : P; // -output is never bound (bind.ts)
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The bound parameters of a spec's parameter list, as bindParams produces them (only required ones are sure to be
 * there).
 */
export type ParamsOfList<L extends readonly ParamSpec[]> = Simplify<
  {
    [P in L[number] as Bound<P> extends never ? never : P['required'] extends true ? P['name'] : never]: ValueOf<P>;
  } & {
    [P in L[number] as Bound<P> extends never ? never : P['required'] extends true ? never : P['name']]?:
      ValueOf<P> | undefined;
  }
>;

/** The parameters a command receives (`ParamsOf<'dir'>` is `{ path?: string; full_path?: boolean }`). */
export type ParamsOf<N extends CommandName> = ParamsOfList<SpecOf<N>['params']>;
/** The same for any spec that kept its literal parameters (a fixture's). */
export type ParamsOfSpec<S extends { params: readonly ParamSpec[] }> = ParamsOfList<S['params']>;

type OptionalIf<Required, T extends z.ZodType> = Required extends true ? T : z.ZodOptional<T>;
/** The zod shape derived from a parameter list (what paramsSchema returns). */
export type ParamsShape<L extends readonly ParamSpec[]> = {
  [P in L[number] as Bound<P> extends never ? never : P['name']]: OptionalIf<P['required'], z.ZodType<ValueOf<P>>>;
};

function valueSchema(param: ParamSpec): z.ZodType {
  switch (param.type) {
    case 'string':
      return z.string().min(1);
    case 'int':
      return z.coerce.number().int(); // a number on the wire; coerced as the service's values always were
    case 'flag':
      return z.boolean();
    case 'enum':
      return z.enum(param.values as [string, ...string[]]);
  }
}

/**
 * The schema of a command's bound parameters: each parameter of the catalog with its type (strings not
 * empty), optional unless required, `-output` left out (it is never bound). Unknown keys are dropped.
 */
export function paramsSchema<const S extends CommandSpec>(spec: S): z.ZodObject<ParamsShape<S['params']>> {
  const shape: Record<string, z.ZodType> = {};
  for (const param of spec.params) {
    if (param.name === 'output') continue;
    const value = valueSchema(param);
    shape[param.name] = param.required ? value : value.optional();
  }
  return z.object(shape) as unknown as z.ZodObject<ParamsShape<S['params']>>;
}

/**
 * A schema's keys without those it adds for the service's own use (`_maxBytes`: not parameters a user gives)
 * and without the index signature zod gives an empty object.
 */
type Public<T> = {
  [K in keyof T as K extends `_${string}` ? never : string extends K ? never : number extends K ? never : K]: T[K];
};
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * `true` when a schema's output `Out` agrees with the catalog's parameters `P`: the same names, the same
 * ones required, and each value of a type the catalog allows (a narrower one is fine: an enum of paths…).
 * Otherwise a type naming what differs, so that the compile error says it.
 */
export type ParamsAgree<Out, P> =
  Same<keyof Public<Out>, keyof P> extends false
    ? {
        paramsDisagreeWithCatalog: {
          schemaOnly: Exclude<keyof Public<Out>, keyof P>;
          catalogOnly: Exclude<keyof P, keyof Public<Out>>;
        };
      }
    : Same<RequiredKeys<Public<Out>>, RequiredKeys<P>> extends false
      ? { requiredDisagreesWithCatalog: { schema: RequiredKeys<Public<Out>>; catalog: RequiredKeys<P> } }
      : Public<Out> extends P
        ? true
        : { typesDisagreeWithCatalog: { schema: Public<Out>; catalog: P } };
