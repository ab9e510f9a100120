// Checks a JWS made by Tank Encoder with the libraries the 3Speak gateway
// uses: `dids` verifies it (as the gateway's `unwrapJWS` does), and
// `key-did-provider-ed25519` signs the same payload with the same seed, so
// the caller can compare the two byte for byte.
//
// stdin: {"seed": <base64 32-byte seed>, "payload": {...}, "jws": {...}}
// stdout: {"did": <signer DID from the kid>, "payload": <verified payload>, "reference": <the libraries' JWS>}
import { DID } from 'dids'
import { Ed25519Provider } from 'key-did-provider-ed25519'
import KeyResolver from 'key-did-resolver'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString())

const verifier = new DID({ resolver: KeyResolver.getResolver() })
const verified = await verifier.verifyJWS(input.jws)

const signer = new DID({
  provider: new Ed25519Provider(Buffer.from(input.seed, 'base64')),
  resolver: KeyResolver.getResolver(),
})
await signer.authenticate()
const reference = await signer.createJWS(input.payload)

console.log(JSON.stringify({
  did: verified.kid.split('#')[0],
  payload: verified.payload,
  reference,
}))
