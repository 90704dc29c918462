// Relative import: Vitest's config bundler only inlines files it reaches by path.
import { concertProject } from '../testing/src/vitest-preset.js'

export default concertProject('@concert/client')
