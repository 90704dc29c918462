/** The closing table: every figure, its ratio, and issue 11's acceptance target next to it. */
export interface Row {
  figure: string
  value: string
  target?: string
  /** undefined: no target (information only). */
  pass?: boolean
}

export const fmt = {
  rps: (n: number) => `${Math.round(n).toLocaleString('en-US')} req/s`,
  ms: (n: number) => `${n.toFixed(1)} ms`,
  ratio: (n: number) => `${n.toFixed(2)}×`,
  bytes: (n: number) => `${Math.round(n).toLocaleString('en-US')} B`,
}

export function printTable(rows: readonly Row[]): void {
  console.log('\n| figure | value | target (issue 11) | |')
  console.log('|---|---|---|---|')
  for (const row of rows) {
    const verdict = row.pass === undefined ? '' : row.pass ? 'PASS' : 'MISS'
    console.log(`| ${row.figure} | ${row.value} | ${row.target ?? ''} | ${verdict} |`)
  }
}
