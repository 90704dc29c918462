import type { ComponentChildren } from 'preact'
import type { ApiError } from '../api'
import { formatInstant } from '../format'

/**
 * A problem the API answered, in the fan's words (the PROBLEM_MESSAGES table),
 * announced to screen readers at once. The code is shown small, for support.
 */
export function ProblemAlert({ error, children }: { error: ApiError; children?: ComponentChildren }) {
  const opensAt = typeof error.problem?.opensAt === 'string' ? error.problem.opensAt : undefined
  return (
    <div class="notice notice-problem" role="alert" data-code={error.code}>
      <p>
        {error.userMessage}
        {opensAt ? ` It opens at ${formatInstant(opensAt)}.` : ''}
        {error.retryAfter ? ` Try again in ${error.retryAfter} s.` : ''}
      </p>
      <p class="notice-code">Code: {error.code}</p>
      {children}
    </div>
  )
}
