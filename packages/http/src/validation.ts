import { Ajv, type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false }

/**
 * Used as Fastify's validator factory (schemaController.compilersFactory), so
 * every encapsulated context, including ones that add shared schemas, gets it.
 * JSON bodies are validated strictly ("100" is not a number, null is not 0),
 * while path, query and header values, which only ever arrive as text, are
 * coerced to the types their schemas declare.
 */
export function createValidatorCompiler(
  sharedSchemas: Record<string, unknown> = {},
): FastifySchemaCompiler<unknown> {
  const strict = addFormats(new Ajv({ ...common, coerceTypes: false }))
  const coercing = addFormats(new Ajv({ ...common, coerceTypes: 'array' }))
  for (const schema of Object.values(sharedSchemas)) {
    strict.addSchema(schema as object)
    coercing.addSchema(schema as object)
  }
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing
    return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>
  }
}
