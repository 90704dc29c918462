import { ProblemSchema } from '@concert/shared'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { ACCOUNT_TOKEN_COOKIE, ACCOUNT_TOKEN_HEADER } from './account-auth.js'

/** OpenAPI 3 generated from the route schemas: UI at /docs, document at /docs/json. */
export const openapiPlugin = fp<{ title: string; description: string }>(
  async (app, options) => {
    app.addSchema(ProblemSchema)
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: options.title, description: options.description, version: '1.0.0' },
        components: {
          securitySchemes: {
            queueToken: { type: 'http', scheme: 'bearer', description: 'Queue token' },
            // Routes list these only when AUTH_JWKS_URL or AUTH_JWT_SECRET is set (SPEC §11).
            accountToken: {
              type: 'apiKey',
              in: 'header',
              name: ACCOUNT_TOKEN_HEADER,
              description: 'JWT from the identity provider whose `sub` is the account id',
            },
            accountCookie: {
              type: 'apiKey',
              in: 'cookie',
              name: ACCOUNT_TOKEN_COOKIE,
              description: 'The same JWT as a cookie (the web app); the header wins when both are sent',
            },
            adminKey: { type: 'http', scheme: 'bearer', description: 'Operator key, one of ADMIN_API_KEYS' },
          },
        },
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    })
    await app.register(swaggerUi, { routePrefix: '/docs' })
  },
  { name: 'openapi' },
)
