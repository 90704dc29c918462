import { type ChildProcess, spawn } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'

/** The repository's root folder, where `node` commands of the tests run. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

/** What a test needs of a child's environment besides its own settings (no inherited secrets or URLs). */
export function baseProcessEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of ['PATH', 'HOME', 'TMPDIR']) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs `node <args>` in the repository root to its end (killed after `timeoutMs`). */
export function runNode(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Finished> {
  return runCommand(process.execPath, args, env, timeoutMs)
}

/** Runs `command <args>` in the repository root to its end (killed after `timeoutMs`). */
export function runCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** A long-running `node <args>` whose output is kept (the last 20 kB) for error messages. */
export function startNode(
  args: string[],
  env: Record<string, string>,
  options: { cwd?: string } = {},
): { child: ChildProcess; output: () => string } {
  return startCommand(process.execPath, args, env, options)
}

/**
 * A long-running `command <args>` (in the repository root unless `cwd` says otherwise)
 * whose output is kept (the last 20 kB) for error messages.
 */
export function startCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  { cwd = repoRoot }: { cwd?: string } = {},
): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return { child, output: () => output }
}

/**
 * A loopback TCP port that counts who connects and never answers: point MYSQL_URL
 * or REDIS_URL at it to prove a process did not even try to reach the store.
 */
export interface ConnectionCounter {
  port: number
  connections(): number
  close(): Promise<void>
}

export async function startConnectionCounter(): Promise<ConnectionCounter> {
  let count = 0
  const server: Server = createServer((socket) => {
    count += 1
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    port: address.port,
    connections: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
