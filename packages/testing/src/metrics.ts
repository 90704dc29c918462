/*
 * A strict reader of Prometheus' text exposition format (version 0.0.4), the one
 * prom-client writes and Prometheus scrapes: every line must be a HELP or TYPE
 * comment or a valid sample of a declared metric, or parsing throws. Like
 * Prometheus' parser (expfmt) it refuses a second HELP or TYPE line and a TYPE line
 * after the family's samples, and, as a scrape does, a series written twice (same
 * name and labels, in any order): what a metric registered twice would expose.
 *
 * Why not a library: prom-client only writes this format (it has no parser), and
 * the one npm parser, parse-prometheus-text-format (code unchanged since 2019),
 * folds a histogram's label sets into one `buckets` map (their labels are lost)
 * and merges a repeated series into the previous one instead of refusing it.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  /** The series' name: the metric's, or a histogram's `_bucket`/`_sum`/`_count`. */
  name: string
  labels: Record<string, string>
  value: number
}

export interface ParsedMetric {
  name: string
  help: string
  type: MetricType
  samples: Sample[]
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`)
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y
const TYPES: MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped']
const SUFFIXES: Partial<Record<MetricType, string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
}

/**
 * A sample value as Prometheus reads it (Go's ParseFloat): a decimal, or NaN and
 * [+-]Inf(inity) in any case: prom-client writes a NaN as `Nan` (nodejs_eventloop_lag_mean_seconds
 * before its first sample).
 */
function parseValue(text: string, line: string): number {
  if (/^nan$/i.test(text)) return Number.NaN
  const infinity = /^([-+]?)inf(inity)?$/i.exec(text)
  if (infinity) return infinity[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`)
  return Number(text)
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text)
    if (!match?.[1] || match[2] === undefined) throw new Error(`bad labels in: ${line}`)
    if (match[1] in labels) throw new Error(`label ${match[1]} twice in: ${line}`)
    labels[match[1]] = match[2].replace(/\\(.)/g, (_all, char: string) => (char === 'n' ? '\n' : char))
  }
  return labels
}

/** Parses a /metrics answer into its metrics by name; throws on any line Prometheus would refuse. */
export function parseMetrics(text: string): Map<string, ParsedMetric> {
  const metrics = new Map<string, ParsedMetric>()
  /** Which family each series name belongs to (`h`, `h_bucket`, `h_sum`, `h_count` → `h`). */
  const owners = new Map<string, ParsedMetric>()
  const declared = new Set<string>()
  const series = new Set<string>()
  const family = (name: string) => {
    let metric = metrics.get(name)
    if (!metric) {
      metric = { name, help: '', type: 'untyped', samples: [] }
      metrics.set(name, metric)
      owners.set(name, metric)
    }
    return metric
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const comment = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line)
    if (comment?.[1] && comment[2]) {
      if (!new RegExp(`^${NAME}$`).test(comment[2])) throw new Error(`bad metric name in: ${line}`)
      const metric = family(comment[2])
      const key = `${comment[1]} ${comment[2]}`
      if (declared.has(key)) throw new Error(`second ${comment[1]} line in: ${line}`)
      declared.add(key)
      if (comment[1] === 'HELP') metric.help = comment[3] ?? ''
      else if (metric.samples.length > 0) throw new Error(`TYPE after the samples of ${metric.name}: ${line}`)
      else if (TYPES.includes(comment[3] as MetricType)) {
        metric.type = comment[3] as MetricType
        for (const suffix of SUFFIXES[metric.type] ?? []) owners.set(`${metric.name}${suffix}`, metric)
      } else throw new Error(`bad type in: ${line}`)
      continue
    }
    if (line.startsWith('#')) continue
    const sample = SAMPLE.exec(line)
    if (!sample?.[1] || !sample[3]) throw new Error(`not a sample: ${line}`)
    const name = sample[1]
    const owner = owners.get(name)
    if (!owner) throw new Error(`sample of an undeclared metric: ${line}`)
    const labels = parseLabels(sample[2] ?? '', line)
    // One series per name and label set: label order does not make a new series.
    const id = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([label, value]) => `${label}=${JSON.stringify(value)}`)
      .join(',')}}`
    if (series.has(id)) throw new Error(`duplicate series ${id} in: ${line}`)
    series.add(id)
    owner.samples.push({ name, labels, value: parseValue(sample[3], line) })
  }
  return metrics
}

/**
 * The value of the first series of `metric` whose labels include `labels`: for a
 * histogram or summary its `_count`. Undefined when there is no such series.
 */
export function sampleValue(
  metric: ParsedMetric | undefined,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted =
    metric?.type === 'histogram' || metric?.type === 'summary' ? `${metric.name}_count` : metric?.name
  const sample = metric?.samples.find(
    (candidate) =>
      candidate.name === wanted &&
      Object.entries(labels).every(([name, value]) => candidate.labels[name] === value),
  )
  return sample?.value
}
