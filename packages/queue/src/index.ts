export * from './feed.js'
export * from './figures.js'
export * from './keys.js'
export * from './lock.js'
export * from './mirror.js'
export * from './pre-queue-draw.js'
export * from './queue.js'
export {
  completedVersion,
  countTokenOutcomes,
  findCompletedToken,
  findTokensToRestore,
  markTokenCompleted,
  markTokenCompletedQuery,
  newestPerToken,
  paymentCommitted,
  type TokenTotals,
  tokenReasonQuery,
  upsertQueueTokens,
} from './queue-tokens.repository.js'
export * from './rate-limit-counters.js'
export * from './recovery.js'
export * from './redis-client.js'
export { Reply, type ReplyCode } from './replies.js'
export * from './sale.js'
export * from './sale-state.js'
export { joinArgs, loadScripts, type ScriptDefinition } from './scripts.js'
export * from './settings.js'
export * from './sse-leases.js'
export * from './ticket.js'
export * from './ticket-schema.js'
export * from './token.js'
export * from './token-state.js'
