// `npm install` on Node 20 is quiet: every package the lockfile installs (dev ones too) declares
// an engines.node range this Node satisfies, so npm has no EBADENGINE to warn about. The cookie
// that light-my-request pulled (2.x, Node ≥ 22) is pinned to 1.x through package.json overrides.
import { readFileSync } from 'node:fs'
import t from 'tap'
import semver from 'semver'

interface LockPackage {
  version?: string
  engines?: { node?: string } | string[]
}

const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, LockPackage> }

t.test('every locked package accepts this Node version', async (t) => {
  const refused = Object.entries(lock.packages)
    .filter(([, p]) => !Array.isArray(p.engines) && p.engines?.node && !semver.satisfies(process.version, p.engines.node, { includePrerelease: true }))
    .map(([path, p]) => `${path}@${p.version} wants node ${(p.engines as { node: string }).node}`)
  t.same(refused, [], `Node ${process.version}`)
})

t.test("light-my-request's cookie is the Node 20 one", async (t) => {
  const cookie = lock.packages['node_modules/light-my-request/node_modules/cookie'] ?? lock.packages['node_modules/cookie']
  t.match(cookie?.version, /^1\./)
  t.equal(semver.satisfies('20.19.0', (cookie?.engines as { node: string }).node), true)
})
