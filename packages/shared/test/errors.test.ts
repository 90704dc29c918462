import { describe, expect, it } from 'vitest'
import { AppError } from '../src/index.js'

describe('AppError', () => {
  it('captures no stack for a refusal (4xx), a full one for a fault (5xx), and leaves the limit as it was', () => {
    const limit = Error.stackTraceLimit
    const refusal = new AppError('SEAT_ALREADY_RESERVED', 'seat 7 not available')
    const fault = new AppError('SERVICE_UNAVAILABLE')
    expect(refusal.stack?.split('\n')).toEqual(['AppError: seat 7 not available'])
    expect(refusal).toMatchObject({
      status: 409,
      code: 'SEAT_ALREADY_RESERVED',
      message: 'seat 7 not available',
    })
    expect(fault.stack?.split('\n').length).toBeGreaterThan(1)
    expect(fault.stack).toContain('errors.test.ts')
    expect(Error.stackTraceLimit).toBe(limit)
    expect(new Error('plain').stack).toContain('errors.test.ts')
  })
})
