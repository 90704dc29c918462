import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SHUTDOWN_GRACE_MS } from '@concert/http'
import { repoRoot } from '@concert/testing'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

/*
 * docker/compose.yaml and docker/Dockerfile cannot run here (no Docker engine), so what
 * can be checked without one is: every file they name exists, the k6 profile loads a
 * gateway that counts each k6 fan's own address (else the per-IP join limit refuses most
 * of a one-host flash crowd), the k6 image is the release the scripts are typed for, the
 * stores keep their data across `down` and `up`, Docker waits longer than the apps' own
 * shutdown, and the gateway image serves the web app pointed at the published booking API.
 */

interface Service {
  image?: string
  stop_grace_period?: string
  build?: { context: string; dockerfile: string; target?: string; args?: Record<string, string> }
  profiles?: string[]
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, { condition: string }> | string[]
}

const docker = join(repoRoot, 'docker')
// Merge keys (<<: *anchor) as compose reads them.
const compose = parse(readFileSync(join(docker, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}
const services = compose.services
const service = (name: string): Service => {
  const found = services[name]
  if (!found) throw new Error(`no service ${name}`)
  return found
}

describe('docker/compose.yaml', () => {
  it('names only files that exist, and services that exist', () => {
    const missing: string[] = []
    for (const [name, { build, volumes = [], depends_on: dependsOn = {} }] of Object.entries(services)) {
      if (build && !existsSync(join(docker, build.context, build.dockerfile)))
        missing.push(`${name}: ${build.dockerfile}`)
      for (const volume of volumes) {
        const host = volume.split(':')[0] ?? ''
        if (host.startsWith('.') && !existsSync(join(docker, host))) missing.push(`${name}: ${host}`)
      }
      for (const other of Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn))
        if (!services[other]) missing.push(`${name}: depends on ${other}`)
    }
    expect(missing).toEqual([])
  })

  it('k6 loads a gateway copy of its own that trusts X-Forwarded-For and publishes no port', () => {
    const k6 = service('k6')
    const target = new URL(k6.environment?.GATEWAY ?? '').hostname
    expect(target).toBe('queue-gateway-k6')
    const loaded = service(target)
    expect(loaded.profiles).toEqual(['k6'])
    expect(loaded.environment?.TRUST_PROXY).toBe('1')
    expect(loaded.ports).toBeUndefined()
    expect(loaded.build).toEqual(service('queue-gateway').build)
    expect(Object.keys(k6.depends_on ?? {})).toContain(target)
    // The published gateway trusts no header unless the operator says so.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's interpolation, default 0
    expect(service('queue-gateway').environment?.TRUST_PROXY).toBe('${TRUST_PROXY:-0}')
  })

  it('keeps MySQL and Redis data in named volumes, so `down` then `up` loses nothing', () => {
    const named = Object.keys(compose.volumes ?? {})
    const dataOf = (name: string, path: string) =>
      (service(name).volumes ?? []).find((volume) => volume.endsWith(`:${path}`))?.split(':')[0]
    expect(named).toContain(dataOf('mysql', '/var/lib/mysql'))
    expect(named).toContain(dataOf('redis', '/data'))
  })

  it('gives every app longer to stop than its own shutdown takes before Docker kills it', () => {
    const seconds = (value: string | undefined) => Number(/^(\d+)s$/.exec(value ?? '')?.[1] ?? 0)
    for (const name of ['queue-gateway', 'queue-gateway-k6', 'booking-api'])
      expect(seconds(service(name).stop_grace_period) * 1000, name).toBeGreaterThan(SHUTDOWN_GRACE_MS)
  })

  it('points the web app at the published booking API, which lets the published gateway in (CORS)', () => {
    const gateway = service('queue-gateway').environment ?? {}
    const booking = service('booking-api').environment ?? {}
    const published = (name: string) => /:\$\{(\w+):-(\d+)\}:\d+$/.exec(service(name).ports?.[0] ?? '')
    const [, bookingVar, bookingPort] = published('booking-api') ?? []
    const [, gatewayVar, gatewayPort] = published('queue-gateway') ?? []
    expect(gateway.WEB_BOOKING_URL).toBe(`http://localhost:\${${bookingVar}:-${bookingPort}}`)
    expect(booking.CORS_ORIGINS?.split(',')).toContain(`http://localhost:\${${gatewayVar}:-${gatewayPort}}`)
  })

  it('passes the build revision to every image it builds (app_build_info tells builds apart)', () => {
    const built = Object.entries(services).filter(([, { build }]) => build)
    expect(built.length).toBeGreaterThanOrEqual(3)
    for (const [name, { build }] of built) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's interpolation
      expect(build?.args?.BUILD_REVISION, name).toBe('${BUILD_REVISION:-unknown}')
    }
  })

  it('runs the k6 release the scripts are type-checked for (@types/k6 major.minor)', () => {
    const types = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).devDependencies[
      '@types/k6'
    ] as string
    const image = /^grafana\/k6:(\d+)\.(\d+)\.\d+$/.exec(service('k6').image ?? '')
    expect(image, 'a pinned grafana/k6:x.y.z').not.toBeNull()
    expect(`${image?.[1]}.${image?.[2]}`).toBe(/^(\d+\.\d+)\.\d+$/.exec(types)?.[1])
  })
})

describe('docker/Dockerfile', () => {
  it('copies only files that exist', () => {
    const dockerfile = readFileSync(join(docker, 'Dockerfile'), 'utf8')
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) =>
      (match[1] ?? '').split(/\s+/),
    )
    expect(sources.length).toBeGreaterThan(5)
    expect(sources.filter((source) => !existsSync(join(repoRoot, source)))).toEqual([])
  })

  it('puts the built web app in the gateway image, where WEB_DIST tells the gateway to serve it', () => {
    const dockerfile = readFileSync(join(docker, 'Dockerfile'), 'utf8')
    const gatewayStage = dockerfile.slice(
      dockerfile.indexOf('AS queue-gateway'),
      dockerfile.indexOf('AS booking-api'),
    )
    const webDist = /^ENV .*\bWEB_DIST=(\S+)/m.exec(gatewayStage)?.[1]
    expect(webDist).toBeDefined()
    // What apps/web's build writes (vite's outDir), copied from the build stage to WEB_DIST.
    expect(gatewayStage).toContain(`COPY --from=build /src/apps/web/dist ${webDist}`)
    expect(JSON.parse(readFileSync(join(repoRoot, 'apps/web/package.json'), 'utf8')).scripts.build).toBe(
      'vite build',
    )
    // pnpm build, which the build stage runs, builds every app, the web app included.
    expect(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts.build).toContain(
      "'./apps/*'",
    )
  })
})
