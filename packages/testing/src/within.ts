/** The answer to `request`, or a failure if it has none within `ms` (a request left hanging). */
export async function within<T>(ms: number, request: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: the request hangs`)), ms)
  })
  try {
    return await Promise.race([request, hung])
  } finally {
    clearTimeout(timer)
  }
}
