import { describe, expect, it } from 'vitest'
import { AppError, toProblem } from '../src/index.js'

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

describe('toProblem', () => {
  it('writes the standard members, the request as instance, and extensions that never replace a standard member', () => {
    const error = new AppError('SEAT_ALREADY_RESERVED', 'seats 7, 9 not available', {
      extensions: { seatIds: [7, 9], status: 200, code: 'OTHER', type: 'x', title: 'x', detail: 'x' },
    })
    const problem = toProblem(error, 'req-1')
    expect(problem).toEqual({
      type: 'https://errors.concert.example/seat-already-reserved',
      title: error.title,
      status: 409,
      detail: 'seats 7, 9 not available',
      code: 'SEAT_ALREADY_RESERVED',
      instance: 'urn:request:req-1',
      seatIds: [7, 9],
    })
    // No request: no instance of ours, so an extension's may stand.
    expect(toProblem(new AppError('TOKEN_EXPIRED'), undefined)).not.toHaveProperty('instance')
    expect(
      toProblem(new AppError('RATE_LIMITED', 'slow down', { extensions: { instance: 'urn:x' } })),
    ).toMatchObject({ instance: 'urn:x', type: 'https://errors.concert.example/rate-limited', status: 429 })
  })
})
