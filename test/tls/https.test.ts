// The daemon terminating TLS itself with `tailscale cert`-style files: HTTPS works, new files
// are served to new connections without a restart while an open connection keeps working,
// and a certificate close to expiry is reported once.
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, type TLSSocket } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import t from 'tap'
import { undeliveredOutbox } from '../../src/db/outbox.js'
import { checkCertificate } from '../../src/tls/check.js'
import { makeCertificate } from '../support/certs.js'
import { startTestDaemon } from '../support/daemon.js'
import { freePort, tempDir, testConfig, testDeps } from '../support/deps.js'

const HOST = 'latchkey.test'

function open(port: number, ca: Buffer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: HOST, ca }, () => resolve(socket))
    socket.once('error', reject)
  })
}

/** One HTTP/1.1 request over an already open TLS socket; resolves with the status code. */
function request(socket: TLSSocket, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let data = ''
    const onData = (c: Buffer) => {
      data += c
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data)
      if (m && data.includes('\r\n\r\n')) {
        socket.off('data', onData)
        resolve(Number(m[1]))
      }
    }
    socket.on('data', onData)
    socket.once('error', reject)
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: keep-alive\r\n\r\n`)
  })
}

t.test('serves HTTPS and hot-swaps renewed certificate files', async (t) => {
  const dir = tempDir(t)
  const first = makeCertificate(dir, { host: HOST, days: 90, name: 'first' })
  const second = makeCertificate(dir, { host: HOST, days: 90, name: 'second' })
  const served = { certFile: join(dir, 'served.crt'), keyFile: join(dir, 'served.key') }
  copyFileSync(first.certFile, served.certFile)
  copyFileSync(first.keyFile, served.keyFile)
  const port = await freePort()
  const d = await startTestDaemon(t, { listen: { host: '127.0.0.1', port }, publicUrl: `https://${HOST}:${port}`, tls: served })
  t.match(d.daemon.url, /^https:/)
  const firstPem = readFileSync(first.certFile)
  const fingerprint = (pem: Buffer) => new X509Certificate(pem).fingerprint256

  const kept = await open(port, firstPem)
  t.equal(kept.getPeerX509Certificate()?.fingerprint256, fingerprint(firstPem), 'the first certificate is served')
  t.equal(await request(kept, '/healthz'), 200, 'HTTPS works')

  copyFileSync(second.keyFile, served.keyFile)
  copyFileSync(second.certFile, served.certFile)
  const secondPem = readFileSync(second.certFile)
  let seen = ''
  for (let i = 0; i < 80 && seen !== fingerprint(secondPem); i++) {
    await new Promise((r) => setTimeout(r, 250))
    const probe = await open(port, secondPem).catch(() => undefined)
    seen = probe?.getPeerX509Certificate()?.fingerprint256 ?? ''
    probe?.destroy()
  }
  t.equal(seen, fingerprint(secondPem), 'a new connection gets the renewed certificate, no restart')
  t.notOk(kept.destroyed, 'the connection opened before the swap is still open')
  t.equal(await request(kept, '/healthz'), 200, 'and keeps working on the old certificate')
  kept.destroy()
  t.match(d.logs.text(), /serving a new TLS certificate/)
})

t.test('a broken certificate pair refuses to start, naming the files', async (t) => {
  const dir = tempDir(t)
  const a = makeCertificate(dir, { host: HOST, days: 90, name: 'a' })
  const b = makeCertificate(dir, { host: HOST, days: 90, name: 'b' })
  const port = await freePort()
  await t.rejects(
    startTestDaemon(t, { listen: { host: '127.0.0.1', port }, publicUrl: `https://${HOST}:${port}`, tls: { certFile: a.certFile, keyFile: b.keyFile } }),
    { code: 'CONFIG_INVALID', message: new RegExp(`cannot use the TLS certificate ${a.certFile} with key ${b.keyFile}`) },
  )
})

t.test('certificate close to expiry: one outbox notification; renewCommand runs first', async (t) => {
  const dir = tempDir(t)
  const short = makeCertificate(dir, { host: HOST, days: 10, name: 'short' })
  const long = makeCertificate(dir, { host: HOST, days: 90, name: 'long' })
  const served = { certFile: join(dir, 'served.crt'), keyFile: join(dir, 'served.key') }
  copyFileSync(short.certFile, served.certFile)
  copyFileSync(short.keyFile, served.keyFile)
  const deps = testDeps(t, { config: testConfig(t, { publicUrl: `https://${HOST}:8400`, tls: served }), now: Date.now() })
  const check1 = await checkCertificate(deps)
  t.same(check1, { renewed: 'not configured', daysLeft: 9, notified: true })
  t.same(await checkCertificate(deps), { renewed: 'not configured', daysLeft: 9, notified: false }, 'told once per certificate')
  const rows = undeliveredOutbox(deps.db)
  t.equal(rows.length, 1)
  t.match(rows[0]?.text, /^⚠️ latchkey's HTTPS certificate expires in 9 days \(\d{4}-\d\d-\d\d\)\. Renew it with "tailscale cert", or set tls.renewCommand\.$/)

  const renewing = testDeps(t, {
    config: testConfig(t, { publicUrl: `https://${HOST}:8400`, tls: { ...served, renewCommand: `cp ${long.certFile} ${served.certFile} && cp ${long.keyFile} ${served.keyFile}` } }),
    now: Date.now(),
  })
  t.same(await checkCertificate(renewing), { renewed: 'ok', daysLeft: 89, notified: false }, 'the renewed certificate needs no warning')
  const failing = testDeps(t, { config: testConfig(t, { publicUrl: `https://${HOST}:8400`, tls: { ...served, renewCommand: 'exit 3' } }), now: Date.now() })
  t.equal((await checkCertificate(failing)).renewed, 'failed')
  t.match(failing.logs.text(), /tls.renewCommand failed/)
})
