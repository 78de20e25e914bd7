// --allow specs, scope matching, path normalisation and the agents table (real SQLite file).
import t from 'tap'
import { addAgent, AgentError, findAgentByToken, hashToken, listAgents, removeAgent, scopeSpecs } from '../../src/broker/agents.js'
import { authenticate } from '../../src/broker/caller.js'
import { joinUpstream, normalisePath } from '../../src/broker/path.js'
import { allows, parseScope } from '../../src/broker/scopes.js'
import { testDeps } from '../support/deps.js'

t.test('parseScope: the three spec forms', async (t) => {
  t.same(parseScope('dexcom'), { connection: 'dexcom', methods: '*', pathPrefix: '/' })
  t.same(parseScope('dexcom:get,POST'), { connection: 'dexcom', methods: ['GET', 'POST'], pathPrefix: '/' })
  t.same(parseScope('dexcom:GET:/v3/users/self/'), { connection: 'dexcom', methods: ['GET'], pathPrefix: '/v3/users/self/' })
  t.same(parseScope('x:*:/a:b'), { connection: 'x', methods: '*', pathPrefix: '/a:b' }, 'a colon in the prefix')
  t.throws(() => parseScope('Dexcom'), /connection must be a provider id/)
  t.throws(() => parseScope('dexcom:GE T'), /METHODS must be a comma list/)
  t.throws(() => parseScope('dexcom:GET:v3'), /must start with \//)
  t.throws(() => parseScope('dexcom:GET:/../x'), /climb above/)
})

t.test('allows: connection, method and segment-aware prefix', async (t) => {
  const grants = [parseScope('dexcom:GET:/v3/users/self'), parseScope('oura:*:/v2/'), parseScope('github')]
  t.ok(allows(grants, 'dexcom', 'get', '/v3/users/self'))
  t.ok(allows(grants, 'dexcom', 'GET', '/v3/users/self/egvs'))
  t.notOk(allows(grants, 'dexcom', 'GET', '/v3/users/selfish'))
  t.notOk(allows(grants, 'dexcom', 'POST', '/v3/users/self/egvs'))
  t.ok(allows(grants, 'oura', 'DELETE', '/v2/x'))
  t.notOk(allows(grants, 'oura', 'GET', '/v2'))
  t.ok(allows(grants, 'github', 'PATCH', '/anything'))
  t.notOk(allows(grants, 'spotify', 'GET', '/'))
  t.ok(allows('all', 'spotify', 'GET', '/'))
})

t.test('normalisePath and joinUpstream keep the base origin and path', async (t) => {
  t.same(normalisePath('/a/./b/../c'), { ok: true, path: '/a/c' })
  t.same(normalisePath('/a/b/..'), { ok: true, path: '/a/' })
  for (const bad of ['//h/x', '/..', '/a/../..', '/%2e%2e', '/a%2fb', '/a%5Cb', '/a\\b', '/%2525', 'x', '/a b'])
    t.equal(normalisePath(bad).ok, false, bad)
  t.equal(joinUpstream('https://h/api', '/v1/me', 'a=1').href, 'https://h/api/v1/me?a=1')
  t.equal(joinUpstream('https://h/api/', '/v1/me', '').href, 'https://h/api/v1/me')
  t.equal(joinUpstream('https://h', '/v1/me', '').href, 'https://h/v1/me')
  t.equal(joinUpstream('https://h/mcp', '/', '').href, 'https://h/mcp', 'the bare path is the base as given (an MCP endpoint)')
  t.equal(joinUpstream('https://h/api/', '/', 'a=1').href, 'https://h/api/?a=1')
  t.equal(joinUpstream('https://h', '/', '').href, 'https://h/')
})

t.test('agents: token shown once, stored hashed, revoked at once', async (t) => {
  const deps = testDeps(t)
  const { token, agent } = addAgent(deps.db, 'claude', ['dexcom:GET:/v3/users/self/', 'oura'], 1000)
  t.match(token, /^lka_[A-Za-z0-9_-]{43}$/)
  t.same(scopeSpecs(agent), ['dexcom:GET:/v3/users/self/', 'oura'])
  const row = deps.db.prepare('SELECT * FROM agents').get() as Record<string, unknown>
  t.equal(row.token_hash, hashToken(token))
  t.notOk(JSON.stringify(row).includes(token), 'the token itself is not stored')
  t.throws(() => addAgent(deps.db, 'claude', ['oura'], 1), AgentError, 'duplicate name')
  t.throws(() => addAgent(deps.db, 'api-token', ['oura'], 1), /not "api-token"/)
  t.throws(() => addAgent(deps.db, 'x', [], 1), /at least one --allow/)
  t.throws(() => addAgent(deps.db, 'y', ['BAD'], 1), /provider id/)
  t.equal(findAgentByToken(deps.db, token, 5000)?.name, 'claude')
  t.equal(listAgents(deps.db)[0]?.lastUsedAt, 5000, 'last use noted')
  t.equal(authenticate(deps.db, 'the-api-token-0123456789abcdef0123', `Bearer ${token}`, 6000)?.name, 'claude')
  t.same(authenticate(deps.db, 'the-api-token-0123456789abcdef0123', 'Bearer the-api-token-0123456789abcdef0123', 6000), { name: 'api-token', grants: 'all', isAgent: false })
  const lkaApiToken = 'lka_an-api-token-that-looks-like-an-agent-token'
  t.same(authenticate(deps.db, lkaApiToken, `Bearer ${lkaApiToken}`, 6000)?.name, 'api-token', 'an API token with the agent prefix still works')
  t.equal(authenticate(deps.db, lkaApiToken, `Bearer ${token}`, 6000)?.name, 'claude', 'and the agent still is the agent')
  t.equal(authenticate(deps.db, 'the-api-token-0123456789abcdef0123', 'Bearer lka_unknown', 6000), undefined, 'an unknown agent token is nobody')
  t.equal(authenticate(deps.db, 'the-api-token-0123456789abcdef0123', 'Bearer the-api-token-0123456789abcdef012', 6000), undefined, 'an almost-API token is nobody')
  t.equal(authenticate(deps.db, 'the-api-token-0123456789abcdef0123', undefined, 6000), undefined, 'no header is nobody')
  t.ok(removeAgent(deps.db, 'claude'))
  t.equal(authenticate(deps.db, 'the-api-token-0123456789abcdef0123', `Bearer ${token}`, 7000), undefined, 'a removed agent is refused at once (no cache)')
  t.equal(findAgentByToken(deps.db, token, 7000), undefined, 'revoked')
  t.notOk(removeAgent(deps.db, 'claude'))
})
