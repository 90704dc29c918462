export * from './fixtures.js'
export * from './redis-cluster.js'
export * from './services.js'
export * from './test-env.js'
