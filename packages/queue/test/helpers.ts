// The shared queue test kit; the apps' tests use it too, as @concert/queue/testing.
export { admitUntilReady, fastSettings, makeQueue, openSaleAt, readyTokens, sleep } from '../src/testing.js'
