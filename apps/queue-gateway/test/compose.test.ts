import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '@concert/testing'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

/*
 * docker/compose.yaml and docker/Dockerfile cannot run here (no Docker engine), so what
 * can be checked without one is: every file they name exists, the k6 profile loads a
 * gateway that counts each k6 fan's own address (else the per-IP join limit refuses most
 * of a one-host flash crowd), and the k6 image is the release the scripts are typed for.
 */

interface Service {
  image?: string
  build?: { context: string; dockerfile: string; target?: string }
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
})
