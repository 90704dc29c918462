import type { AddressInfo } from 'node:net'
import type { App } from '@concert/http'
import {
  createEvent,
  insertAccounts,
  type LocalRedisCluster,
  seedCatalog,
  startLocalRedisCluster,
  useTestEnv,
} from '@concert/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildGateway, join } from './helpers.js'

// The stream limits unchanged on a real three-master Redis Cluster (REDIS_CLUSTER=1).
const env = useTestEnv()
let cluster: LocalRedisCluster
let gateway: App

beforeAll(async () => {
  cluster = await startLocalRedisCluster(3)
  await seedCatalog(env.db)
  await insertAccounts(env.db, 1, { prefix: 'cl' })
  gateway = await buildGateway(env, { REDIS_URL: cluster.seedUrl, REDIS_CLUSTER: '1' })
  await gateway.listen({ port: 0, host: '127.0.0.1' })
}, 60_000)
afterAll(async () => {
  await gateway?.close()
  await cluster?.stop()
})

describe('SSE stream limits on a Redis Cluster', () => {
  it('serve 3 of 6 streams on one token, and free a place when one closes', async () => {
    const url = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`
    const eventId = await createEvent(env.db, 'limits on cluster')
    const token = (await join(gateway, 'cl-1', eventId)).json().token as string
    const open = async () => {
      const controller = new AbortController()
      const response = await fetch(`${url}/v1/queue/tokens/${token}/stream`, { signal: controller.signal })
      if (response.status !== 200) await response.body?.cancel()
      // The response is held until close(): fetch cancels the body of a Response collected unread, ending the stream.
      return { status: response.status, response, close: () => controller.abort() }
    }
    const opened = await Promise.all(Array.from({ length: 6 }, open))
    expect(opened.filter((o) => o.status === 200)).toHaveLength(3)
    expect(opened.filter((o) => o.status === 429)).toHaveLength(3)

    opened.find((o) => o.status === 200)?.close()
    let again = await open()
    for (let i = 0; i < 50 && again.status !== 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      again = await open()
    }
    expect(again.status).toBe(200)
    for (const o of [...opened, again]) o.close()
  })
})
