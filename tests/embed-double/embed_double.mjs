// TEST DOUBLE of 3Speak's embed system (embed.3speak.tv), which cannot be
// reached from here: the community encoder routes, the completion and
// progress webhooks, the stall rule and the traffic director. It follows
// ../../../shared/research/3speak-embed.md (read from Mantequilla-Soft/
// embedvideos and 3speakencoder), down to status codes and quirks:
//
// - Every /api/v0/gateway/* call is POST {"jws": JWS}, verified with
//   `dids` verifyJWS and key-did-resolver, exactly as the real server does;
//   the signer is the kid before '#'. Bodies are read by express.json(), so
//   a body without `Content-Type: application/json` reads as {} (401).
// - updateNode upserts the encoder by DID: a new one is named
//   community-<last 12 chars of the DID>, tier lite, access community,
//   enabled; the signed name is kept only as displayName.
// - heartbeat and myJob before any updateNode: 404 "Encoder not registered";
//   myJob for a disabled encoder: 403 "Encoder is disabled or banned".
// - myJob claims the oldest pending job with premium false, short false and
//   gated not true, mints a new 64-hex callback token per claim and answers
//   {success, job} (job null when there is none). input_cid is a gateway URL.
// - POST /webhook: X-API-Key must be the global key or the token of the job
//   named by owner+permlink (else 401 {"error":"Unauthorized"}); complete
//   publishes (a duplicate is processed again, 200); failed requeues while
//   attemptCount < 2, else fails; any other status 400 "Unknown status".
// - POST /webhook/progress: bad fields 400, then 404 "Job not found" (before
//   the key), then a bad key 401; on success the job becomes `encoding` again
//   whatever it was (a late progress re-opens a completed job) and its
//   updatedAt is refreshed.
// - Stall rule: every --sweep-every s, `encoding` jobs whose updatedAt is
//   older than --stall-after s (30 min on the real server) go back to
//   pending with attemptCount + 1 and "Reset due to stall (no progress
//   update)", or fail once attemptCount reached 2. The token is kept.
// - GET /api/hotnode (the traffic director): {success, data:{uploadEndpoint}}
//   pointing at --hotnode (a harness node's /api/v0/add).
//
// Simplified: state in memory only; jobs come from the control API, not from
// uploads; no Mongo, no videos collection (the job's `video` fields say what
// the video would show), a managed dispatcher run on demand rather than every
// 30 s, no gated content.
//
// Usage: node embed_double.mjs [--stall-after S] [--sweep-every S]
//          [--webhook-key K] [--ipfs-gateway URL] [--hotnode URL]
// Prints one JSON line once ready: {"api": url, "control": url}. The
// webhook URL it hands out is <api>/webhook.
//
// Control API (its own port): POST /jobs {owner?, permlink?, input_cid,
// short?, premium?, gated?, frontend_app?, originalFilename?} -> {job};
// GET /state -> {jobs, encoders, calls}; POST /encoders/disable {did};
// POST /encoders/forget (every encoder forgotten: the next call is 404);
// POST /webhook-down {status} (every /webhook call answers that status;
// 0 ends it); POST /refuse-director {on}; POST /dispatch {url, key} (one
// managed dispatch of the oldest pending job to url/encode). A `calls` entry: {at, route, did,
// status, body, key} where key is "job", "global" or "bad" for webhooks and
// body has no key in it.
import express from 'express'
import crypto from 'node:crypto'
import { DID } from 'dids'
import KeyResolver from 'key-did-resolver'

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]])
    return pairs
  }, []),
)
const STALL_AFTER_MS = Number(args['stall-after'] ?? 1800) * 1000
const SWEEP_EVERY_MS = Number(args['sweep-every'] ?? 30) * 1000
const WEBHOOK_KEY = args['webhook-key'] ?? 'global-webhook-key'
const IPFS_GATEWAY = (args['ipfs-gateway'] ?? 'https://ipfs.3speak.tv').replace(/\/$/, '')
const HOTNODE = args.hotnode ?? null

const verifier = new DID({ resolver: KeyResolver.getResolver() })
const encoders = new Map() // did -> encoder
const jobs = [] // oldest first
const calls = []
let webhookDown = 0
let directorRefused = false
let apiBase = ''

const now = () => new Date()
const iso = (date) => (date ? date.toISOString() : null)

function record(route, req, status, extra = {}) {
  calls.push({ at: iso(now()), route, status, ...extra })
}

async function signer(req) {
  const jws = req.body?.jws
  if (!jws) throw new Error('no jws')
  const verified = await verifier.verifyJWS(jws)
  return { did: verified.kid.split('#')[0], payload: verified.payload }
}

function view(job) {
  return {
    owner: job.owner,
    permlink: job.permlink,
    input_cid: `${IPFS_GATEWAY}/ipfs/${job.input_cid}`,
    short: job.short,
    premium: job.premium,
    webhook_url: `${apiBase}/webhook`,
    api_key: job.callbackToken,
    frontend_app: job.frontend_app,
    originalFilename: job.originalFilename,
  }
}

function findJob(owner, permlink) {
  return jobs.find((j) => j.owner === owner && j.permlink === permlink)
}

function requeueOrFail(job, message) {
  if (job.attemptCount < 2) {
    job.status = 'pending'
    job.attemptCount += 1
    job.assignedWorker = null
  } else {
    job.status = 'failed'
    job.video = 'failed'
  }
  job.lastError = message
  job.updatedAt = now()
}

const api = express()
api.use(express.json({ limit: '1mb' }))

// The three signed routes share one shape: verify, then act as the signer.
function signed(route, act) {
  api.post(`/api/v0/gateway/${route}`, async (req, res) => {
    let who
    try {
      who = await signer(req)
    } catch {
      record(route, req, 401, { did: null })
      return res.status(401).json({ error: 'Invalid JWS signature' })
    }
    const [status, body] = act(who)
    record(route, req, status, { did: who.did, body: who.payload })
    res.status(status).json(body)
  })
}

signed('updateNode', ({ did, payload }) => {
  const info = payload.node_info ?? payload
  let encoder = encoders.get(did)
  if (!encoder) {
    encoder = {
      name: `community-${did.slice(-12)}`,
      did,
      tier: 'lite',
      access: 'community',
      enabled: true,
      createdAt: now(),
    }
    encoders.set(did, encoder)
  }
  encoder.displayName = info.name ?? encoder.displayName
  encoder.hive = info.cryptoAccounts?.hive ?? info.hive_account ?? encoder.hive
  encoder.lastSeenAt = now()
  const { name, tier, access, enabled } = encoder
  return [200, { success: true, encoder: { name, did, tier, access, enabled } }]
})

signed('heartbeat', ({ did }) => {
  const encoder = encoders.get(did)
  if (!encoder) return [404, { error: 'Encoder not registered' }]
  encoder.lastSeenAt = now()
  encoder.heartbeats = (encoder.heartbeats ?? 0) + 1
  return [200, { success: true }]
})

signed('myJob', ({ did }) => {
  const encoder = encoders.get(did)
  if (!encoder) return [404, { error: 'Encoder not registered' }]
  encoder.lastSeenAt = now()
  if (!encoder.enabled) return [403, { error: 'Encoder is disabled or banned' }]
  const job = jobs.find((j) => j.status === 'pending' && !j.premium && !j.short && j.gated !== true)
  if (!job) return [200, { success: true, job: null }]
  job.status = 'encoding'
  job.assignedWorker = did
  job.assignedAt = now()
  job.updatedAt = now()
  job.callbackToken = crypto.randomBytes(32).toString('hex')
  job.claims.push({ at: iso(now()), by: did, token: job.callbackToken })
  return [200, { success: true, job: view(job) }]
})

function keyOf(req, job) {
  const key = req.headers['x-api-key']
  if (key === WEBHOOK_KEY) return 'global'
  if (job && key && key === job.callbackToken) return 'job'
  return 'bad'
}

function withoutKey(body) {
  const { api_key: _, ...rest } = body ?? {}
  return rest
}

api.post('/webhook', (req, res) => {
  const body = req.body ?? {}
  const job = findJob(body.owner, body.permlink)
  const key = keyOf(req, job)
  const answer = (status, reply) => {
    record('webhook', req, status, { body: withoutKey(body), key })
    res.status(status).json(reply)
  }
  if (webhookDown) return answer(webhookDown, { error: 'Service unavailable' })
  if (key === 'bad') return answer(401, { error: 'Unauthorized' })
  if (body.status === 'complete') {
    job.status = 'completed'
    job.video = 'published'
    job.manifest_cid = body.manifest_cid
    job.completions = (job.completions ?? 0) + 1
    job.updatedAt = now()
    return answer(200, { success: true, message: 'Webhook processed successfully' })
  }
  if (body.status === 'failed') {
    requeueOrFail(job, body.error || 'Encoding failed')
    const message = job.status === 'pending'
      ? 'Webhook processed (failure recorded, job requeued)'
      : 'Webhook processed (failure recorded)'
    return answer(200, { success: true, message })
  }
  return answer(400, { error: 'Unknown status' })
})

api.post('/webhook/progress', (req, res) => {
  const body = req.body ?? {}
  const answer = (status, reply, key) => {
    record('progress', req, status, { body, key })
    res.status(status).json(reply)
  }
  if (!body.owner || !body.permlink || typeof body.progress !== 'number') {
    return answer(400, { error: 'owner, permlink, and progress (number) are required' })
  }
  const job = findJob(body.owner, body.permlink)
  if (!job) return answer(404, { error: 'Job not found' })
  const key = keyOf(req, job)
  if (key === 'bad') return answer(401, { error: 'Unauthorized' }, key)
  if (job.status === 'completed') job.reopened = (job.reopened ?? 0) + 1
  job.status = 'encoding'
  job.video = 'processing'
  job.encodingProgress = body.progress
  job.encodingStage = body.stage ?? null
  job.updatedAt = now()
  return answer(200, { success: true }, key)
})

api.get('/api/hotnode', (req, res) => {
  if (directorRefused || !HOTNODE) {
    record('hotnode', req, 503)
    return res.status(503).json({ success: false, error: 'no hotnode available' })
  }
  record('hotnode', req, 200)
  res.json({ success: true, data: { uploadEndpoint: HOTNODE } })
})

setInterval(() => {
  const stale = now() - STALL_AFTER_MS
  for (const job of jobs) {
    if (job.status === 'encoding' && job.updatedAt < stale) {
      job.stalls = (job.stalls ?? 0) + 1
      requeueOrFail(job, 'Reset due to stall (no progress update)')
    }
  }
}, SWEEP_EVERY_MS)

const control = express()
control.use(express.json())
let counter = 0
control.post('/jobs', (req, res) => {
  const b = req.body
  counter += 1
  const job = {
    owner: b.owner ?? 'tank-test',
    permlink: b.permlink ?? `video-${counter}`,
    input_cid: b.input_cid,
    short: b.short ?? false,
    premium: b.premium ?? false,
    gated: b.gated ?? false,
    frontend_app: b.frontend_app ?? '3speak-tv',
    originalFilename: b.originalFilename ?? null,
    status: 'pending',
    video: 'processing',
    attemptCount: 0,
    assignedWorker: null,
    callbackToken: null,
    claims: [],
    createdAt: now(),
    updatedAt: now(),
  }
  jobs.push(job)
  res.json({ job: shown(job) })
})
function shown(job) {
  return { ...job, createdAt: iso(job.createdAt), updatedAt: iso(job.updatedAt), assignedAt: iso(job.assignedAt) }
}
control.get('/state', (req, res) => {
  res.json({
    jobs: jobs.map(shown),
    encoders: [...encoders.values()].map((e) => ({ ...e, lastSeenAt: iso(e.lastSeenAt), createdAt: iso(e.createdAt) })),
    calls,
  })
})
control.post('/encoders/disable', (req, res) => {
  const encoder = encoders.get(req.body.did)
  if (encoder) encoder.enabled = false
  res.json({ found: Boolean(encoder) })
})
control.post('/encoders/forget', (req, res) => {
  encoders.clear()
  res.json({})
})
control.post('/webhook-down', (req, res) => {
  webhookDown = Number(req.body.status ?? 0)
  res.json({})
})
// The managed dispatcher, one round on demand: the oldest pending job goes
// to the encoder at `url` (POST {url}/encode with X-API-Key `key`), with
// the body the real dispatcher sends; a non-2xx or a network error puts it
// back to pending with attemptCount + 1.
control.post('/dispatch', async (req, res) => {
  const { url, key } = req.body
  const job = jobs.find((j) => j.status === 'pending')
  if (!job) return res.json({ dispatched: false })
  job.status = 'encoding'
  job.assignedWorker = url
  job.assignedAt = now()
  job.updatedAt = now()
  // The job as myJob shows it, with the global key a managed job reports with.
  const body = { ...view(job), api_key: WEBHOOK_KEY }
  let status = 0
  let answer = null
  try {
    const reply = await fetch(`${url.replace(/\/$/, '')}/encode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify(body),
    })
    status = reply.status
    answer = await reply.json().catch(() => null)
  } catch (e) {
    answer = { error: String(e) }
  }
  if (status >= 200 && status < 300) {
    job.directJobId = answer?.job_id ?? null
  } else {
    requeueOrFail(job, `dispatch failed: ${status}`)
  }
  calls.push({ at: iso(now()), route: 'dispatch', status, body: answer })
  res.json({ dispatched: true, status, answer })
})
control.post('/refuse-director', (req, res) => {
  directorRefused = Boolean(req.body.on)
  res.json({})
})

const apiServer = api.listen(0, '127.0.0.1', () => {
  apiBase = `http://127.0.0.1:${apiServer.address().port}`
  const controlServer = control.listen(0, '127.0.0.1', () => {
    const controlUrl = `http://127.0.0.1:${controlServer.address().port}/`
    console.log(JSON.stringify({ api: `${apiBase}/`, control: controlUrl }))
  })
})
