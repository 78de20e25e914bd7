// The built `latchkey` bin as a user runs it: help for every command, --version, typos, and
// commands parsed before the config is read. Real child processes, no daemon needed.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runLatchkey, type CliRun } from '../support/child-daemon.js'
import { tempDir } from '../support/deps.js'

/** Runs the built bin with `env` only (plus PATH), and waits for it to exit. */
const latchkey = (env: Record<string, string>, ...args: string[]) => runLatchkey(env, args)

function badConfig(t: Parameters<typeof tempDir>[0]): Record<string, string> {
  const dir = tempDir(t)
  const path = join(dir, 'config.json')
  writeFileSync(path, '{"listen": {"port": "x"}}')
  return { LATCHKEY_CONFIG: path, HOME: dir }
}

const COMMANDS = ['serve', 'connect', 'reconnect', 'disconnect', 'token', 'providers', 'status', 'doctor', 'dexcom readings', 'oura daily', 'simulate dexcom', 'simulate oura', 'demo']

t.test('--help on every command prints its usage and examples, exit 0, even with a bad config', async (t) => {
  const env = badConfig(t)
  const runs: CliRun[] = []
  for (const c of COMMANDS) runs.push(await latchkey(env, ...c.split(' '), '--help')) // one at a time: a shared 2-core machine
  COMMANDS.forEach((command, i) => {
    const run = runs[i] as CliRun
    t.equal(run.code, 0, `${command} --help exits 0`)
    t.match(run.stdout, new RegExp(`^Usage: latchkey ${command} `), `${command}: its own usage line`)
    t.match(run.stdout, /\nExamples:\n {2}\$ /, `${command}: examples`)
    t.equal(run.stderr, '', `${command}: nothing on stderr`)
  })
  // demo --help used to start the demo: the help above came back, and nothing was started.
  t.notMatch((runs[COMMANDS.indexOf('demo')] as CliRun).stdout, /simulator on http/)
})

t.test('the global help lists every command, the exit codes and the config path', async (t) => {
  const run = await latchkey({ LATCHKEY_CONFIG: '/nonexistent/config.json' }, '--help')
  t.equal(run.code, 0)
  for (const command of COMMANDS) t.match(run.stdout, new RegExp(`\\n {2}${command.split(' ')[0]} `), `${command} listed`)
  t.match(run.stdout, /Exit codes: 0 ok, 1 failed .*2 usage, 3 bad config,\n4 daemon unreachable/)
  t.match(run.stdout, 'Config: $LATCHKEY_CONFIG (default ~/.config/latchkey/config.json)')
  t.same(await latchkey({}, 'help'), { ...run, code: 0 }, '"help" is the same as --help')

  const bare = await latchkey({})
  t.equal(bare.code, 2, 'no command is a usage error')
  t.match(bare.stderr, /^Usage: latchkey \[options\] \[command\]/)
})

t.test('--version prints the package version', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  for (const flag of ['--version', '-v']) t.same(await latchkey({}, flag), { code: 0, stdout: `${version}\n`, stderr: '' }, flag)
})

t.test('a typo gets "did you mean", exit 2, and is not taken for a config error', async (t) => {
  const env = badConfig(t)
  const typo = await latchkey(env, 'stauts')
  t.equal(typo.code, 2)
  t.match(typo.stderr, /^error: unknown command 'stauts'\n\(Did you mean status\?\)/)
  t.notMatch(typo.stderr, /config/)

  const unknown = await latchkey(env, 'frobnicate')
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^error: unknown command 'frobnicate'/)

  const option = await latchkey(env, 'status', '--bogus')
  t.equal(option.code, 2, 'an unknown option is a usage error too')
  t.match(option.stderr, /^error: unknown option '--bogus'/)

  const config = await latchkey(env, 'status')
  t.equal(config.code, 3, 'a known command with a bad config: exit 3')
  t.match(config.stderr, /listen\.port: /)
})

t.test('option values are checked before anything runs', async (t) => {
  const env = badConfig(t)
  for (const args of [
    ['token', 'acme', '--min-validity', 'soon'],
    ['token', 'acme', '--min-validity', '90000'],
    ['dexcom', 'readings', '--since', 'yesterday'],
    ['dexcom', 'readings', '--csv', '--json'],
    ['simulate', 'dexcom', '--port', '70000'],
    ['connect'],
  ]) {
    const run = await latchkey(env, ...args)
    t.equal(run.code, 2, args.join(' '))
    t.match(run.stderr, /^error: /, `${args.join(' ')}: says why`)
  }
})
