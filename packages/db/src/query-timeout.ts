import type { MysqlPool, MysqlPoolConnection, MysqlQueryResult } from 'kysely'
import type { Connection, Pool, PoolConnection } from 'mysql2'

/**
 * The promise "no MySQL statement waits for ever". A link that goes silent without a
 * reset (a partition, a failed-over server, a NAT that forgot the flow) leaves a statement
 * waiting until TCP gives up, about 15 minutes with Linux's defaults, and its connection
 * with it: a transaction that holds the event's durable lane (DurableTickets), rows, and a
 * slot of the pool. mysql2 can time a statement out but then leaves the connection in the
 * pool with the statement still queued on it, so the ROLLBACK that follows would wait
 * behind it. Here a statement that takes longer than `timeoutMs` fails with a fatal error
 * (isConnectionError) and its connection is destroyed: the transaction's rollback fails
 * at once and the pool opens a fresh connection. The server would carry on with the
 * abandoned session (a slow statement to its end, its transaction's row locks held until
 * it noticed the socket gone), so it is told to end it: KILL of that connection's thread,
 * from another connection, best effort (a silent server does not hear it either).
 */
export function timeStatements(pool: Pool, timeoutMs: number, connect: () => Connection): MysqlPool {
  // Kysely keeps per-connection state keyed by the object it is given: one wrapper per connection.
  const wrapped = new WeakMap<PoolConnection, MysqlPoolConnection>()
  const wrap = (connection: PoolConnection): MysqlPoolConnection => {
    let timed = wrapped.get(connection)
    if (!timed) {
      timed = {
        // Streams (Kysely's streamQuery) run untimed: they may rightly take long.
        query: ((sql: string, parameters: unknown[], callback?: QueryCallback) => {
          if (!callback) return connection.query(sql, parameters)
          connection.query({ sql, values: parameters, timeout: timeoutMs }, (error, result) => {
            if (isStatementTimeout(error)) {
              ;(error as { fatal?: boolean }).fatal = true
              const thread = connection.threadId
              dropConnection(connection)
              killThread(connect, thread, timeoutMs)
            }
            callback(error, result as MysqlQueryResult)
          })
        }) as MysqlPoolConnection['query'],
        release: () => connection.release(),
      }
      wrapped.set(connection, timed)
    }
    return timed
  }
  return {
    getConnection: (callback) =>
      pool.getConnection((error, connection) =>
        callback(error, connection ? wrap(connection) : (connection as unknown as MysqlPoolConnection)),
      ),
    end: (callback) => pool.end(callback),
  }
}

/**
 * Closed, and out of its pool if it has one (mysql2's destroy), with its socket closed at
 * once: mysql2 only half-closes it (`end`), which on a silent link lingers until TCP gives up.
 */
export function dropConnection(connection: Connection): void {
  connection.destroy()
  ;(connection as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.()
}

/**
 * Asks MySQL to end the session of `thread` (its statement stopped, its transaction rolled
 * back, its locks released), on a connection of its own, outside the pool: taken from the
 * pool during a stall, it left the pool unable to end (mysql-faults.test.ts), and of its own
 * it touches nothing the app uses. Errors are ignored (the thread may have ended already,
 * or MySQL is silent too); the KILL is timed like any statement, and its connection
 * closed either way.
 */
function killThread(connect: () => Connection, thread: number | null, timeoutMs: number): void {
  if (thread === null) return
  const side = connect()
  side.on('error', () => dropConnection(side))
  side.query({ sql: `KILL ${Number(thread)}`, timeout: timeoutMs }, () => dropConnection(side))
}

type QueryCallback = (error: unknown, result: MysqlQueryResult) => void

/** mysql2's error for a statement that ran past its `timeout`. */
export function isStatementTimeout(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    error.code === 'PROTOCOL_SEQUENCE_TIMEOUT'
  )
}
