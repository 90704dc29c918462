import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

/** The repository root: children run there, like `pnpm start` runs the apps. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/** The workspace packages' `development` export is their TypeScript source, which tsx runs. */
const TSX = ['--conditions=development', '--import', 'tsx']

export interface Child {
  name: string
  url: string
  port: number
  process: ChildProcess
  /** The last 20 kB of its stdout and stderr, for error messages. */
  output(): string
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}

/** What a child needs of our environment (no inherited URLs or secrets). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of ['PATH', 'HOME', 'TMPDIR']) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/**
 * Starts `node --conditions=development --import tsx <entry>` in its own process,
 * listening on a free port given in `portVariable`, and waits until `readyPath` answers 200.
 * `nodeFlags` go before the entry (BENCH_NODE_FLAGS, e.g. `--cpu-prof` to profile the apps).
 */
export async function startChild(
  name: string,
  entry: string,
  portVariable: string,
  env: Record<string, string>,
  readyPath = '/health/ready',
  nodeFlags: readonly string[] = [],
): Promise<Child> {
  const port = await freePort()
  const child = spawn(process.execPath, [...nodeFlags, ...TSX, entry], {
    cwd: repoRoot,
    env: { ...baseEnv(), ...env, [portVariable]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${output}`)
    const ok = await fetch(`${url}${readyPath}`)
      .then((response) => response.ok)
      .catch(() => false)
    if (ok) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${name} not ready within 60 s:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return { name, url, port, process: child, output: () => output }
}

/** SIGTERM (the apps drain and close their pools), SIGKILL after 10 s. */
export async function stopChild(child: Child | undefined): Promise<void> {
  const proc = child?.process
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  proc.kill('SIGTERM')
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

/** Resident memory of a process in bytes (Linux: VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(kb) * 1024
}
