import type AxeCore from 'axe-core'
import type { Page } from 'playwright-core'

declare global {
  interface Window {
    /** Put on every page by openBrowser's init script. */
    axe: typeof AxeCore
  }
}

export interface Violation {
  id: string
  impact: string | null | undefined
  help: string
  targets: string[]
}

/** axe-core's serious and critical findings on the page as it is now (the acceptance bar is none). */
export function seriousViolations(page: Page): Promise<Violation[]> {
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] })
    return result.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.map((node) => node.target.join(' ')),
      }))
  })
}
