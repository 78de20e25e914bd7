/**
 * The environment for a child process that a test kills hard: without tap's NODE_OPTIONS
 * (its process-info and coverage hooks more than double a child's start-up, and a SIGKILLed
 * child never writes coverage anyway), so hundreds of kills stay within the suite's time.
 */
export function killableChildEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _ignored, ...env } = process.env
  return { ...env, ...extra }
}
