/**
 * The HTTP floor: a Fastify hello-world (the apps' Fastify version, root devDependency)
 * in its own process, listening on PORT. `pnpm bench` starts it and loads it with the
 * same autocannon settings as the real paths.
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/', async () => ({ hello: 'world' }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
