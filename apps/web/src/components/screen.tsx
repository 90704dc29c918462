import type { ComponentChildren } from 'preact'
import { useEffect, useRef } from 'preact/hooks'
import { useTitle } from '../hooks'

/**
 * One screen: its heading takes the focus when the screen opens, so keyboard
 * and screen-reader users start at the top of what changed, and names the tab.
 */
export function Screen({ title, children }: { title: string; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null)
  useTitle(title)
  useEffect(() => {
    heading.current?.focus()
  }, [])
  return (
    <section class="screen" aria-labelledby="screen-title">
      <h1 id="screen-title" ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {children}
    </section>
  )
}
