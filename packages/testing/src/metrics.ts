/*
 * A strict reader of Prometheus' text exposition format (version 0.0.4), the one
 * prom-client writes and Prometheus scrapes: every line must be a HELP or TYPE
 * comment or a valid sample of a declared metric, or parsing throws. (The npm
 * parsers we tried lose the labels of histogram series.)
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

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
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
  const family = (name: string) => {
    let metric = metrics.get(name)
    if (!metric) {
      metric = { name, help: '', type: 'untyped', samples: [] }
      metrics.set(name, metric)
    }
    return metric
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const comment = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line)
    if (comment?.[1] && comment[2]) {
      if (!new RegExp(`^${NAME}$`).test(comment[2])) throw new Error(`bad metric name in: ${line}`)
      const metric = family(comment[2])
      if (comment[1] === 'HELP') metric.help = comment[3] ?? ''
      else if (TYPES.includes(comment[3] as MetricType)) metric.type = comment[3] as MetricType
      else throw new Error(`bad type in: ${line}`)
      continue
    }
    if (line.startsWith('#')) continue
    const sample = SAMPLE.exec(line)
    if (!sample?.[1] || !sample[3]) throw new Error(`not a sample: ${line}`)
    const name = sample[1]
    const owner = [...metrics.values()].find(
      (metric) =>
        metric.name === name ||
        (SUFFIXES[metric.type] ?? []).some((suffix) => `${metric.name}${suffix}` === name),
    )
    if (!owner) throw new Error(`sample of an undeclared metric: ${line}`)
    owner.samples.push({
      name,
      labels: parseLabels(sample[2] ?? '', line),
      value: parseValue(sample[3], line),
    })
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
