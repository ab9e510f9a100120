//! The encoder's identity: an Ed25519 key. The gateway knows the encoder by
//! the key's `did:key`, and checks every POST body against it.
//!
//! The signed form is what the gateway's JavaScript libraries produce and
//! verify (`dids` with `key-did-provider-ed25519`): a general JWS in JSON,
//! header `{"alg":"EdDSA","kid":"<did>#<multibase key>"}`, header and payload
//! JSON with their keys sorted, base64url without padding.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// The multicodec prefix of an Ed25519 public key (`ed25519-pub`, 0xed, as
/// an unsigned varint).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// Seeds come from people and other programs: standard or URL-safe
/// base64, with or without padding (Node's decoder takes all of them).
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// An Ed25519 signing key and its `did:key`. `Debug` shows the DID only;
/// the key never prints.
pub struct Identity {
    key: SigningKey,
    did: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    #[error("the private key is not base64")]
    NotBase64,
    #[error("the private key is {0} bytes; an Ed25519 seed is 32 bytes")]
    WrongLength(usize),
    #[error("the system's random number generator failed: {0}")]
    NoRandomness(String),
}

/// A general JWS in JSON form, as the gateway takes it in `{"jws": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jws {
    pub payload: String,
    pub signatures: Vec<JwsSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwsSignature {
    pub protected: String,
    pub signature: String,
}

impl Identity {
    pub fn from_seed(seed: &[u8; 32]) -> Identity {
        let key = SigningKey::from_bytes(seed);
        let mut multicodec = ED25519_PUB.to_vec();
        multicodec.extend_from_slice(key.verifying_key().as_bytes());
        let did = format!("did:key:z{}", bs58::encode(multicodec).into_string());
        Identity { key, did }
    }

    /// A new identity from the operating system's random number generator.
    pub fn generate() -> Result<Identity, IdentityError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut())
            .map_err(|e| IdentityError::NoRandomness(e.to_string()))?;
        Ok(Identity::from_seed(&seed))
    }

    /// The 32-byte seed in base64, as `ENCODER_PRIVATE_KEY` holds it.
    pub fn from_base64(text: &str) -> Result<Identity, IdentityError> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            STANDARD_LENIENT
                .decode(text)
                .or_else(|_| URL_SAFE_LENIENT.decode(text))
                .map_err(|_| IdentityError::NotBase64)?,
        );
        let seed: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| IdentityError::WrongLength(bytes.len()))?;
        Ok(Identity::from_seed(seed))
    }

    /// The seed in standard base64, for the keyring and nothing else.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.key.to_bytes()))
    }

    /// `did:key:z6Mk…`
    pub fn did(&self) -> &str {
        &self.did
    }

    /// Signs `payload` (a JSON object) the way the gateway verifies it.
    pub fn sign(&self, payload: &Value) -> Jws {
        let multibase = self.did.trim_start_matches("did:key:");
        let header = serde_json::json!({
            "alg": "EdDSA",
            "kid": format!("{}#{multibase}", self.did),
        });
        let protected = URL_SAFE_NO_PAD.encode(canonical_json(&header));
        let payload = URL_SAFE_NO_PAD.encode(canonical_json(payload));
        let signature = self.key.sign(format!("{protected}.{payload}").as_bytes());
        Jws {
            payload,
            signatures: vec![JwsSignature {
                protected,
                signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
            }],
        }
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("did", &self.did).finish()
    }
}

/// JSON with every object's keys sorted, as the gateway's signing library
/// writes it (`toStableObject`), whatever order serde_json keeps maps in.
fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect::<Map<String, Value>>(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    use serde_json::json;

    const SEVENS_DID: &str = "did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z";

    #[test]
    fn a_seed_of_sevens_gives_the_did_the_gateway_libraries_give() {
        assert_eq!(Identity::from_seed(&[7; 32]).did(), SEVENS_DID);
    }

    #[test]
    fn encoder_private_key_is_read_as_base64_in_any_of_its_spellings() {
        for spelling in [
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc",
            " BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
        ] {
            assert_eq!(Identity::from_base64(spelling).unwrap().did(), SEVENS_DID);
        }
    }

    #[test]
    fn a_bad_private_key_says_what_is_wrong_with_it() {
        assert_eq!(
            Identity::from_base64("not base64!").unwrap_err(),
            IdentityError::NotBase64
        );
        assert_eq!(
            Identity::from_base64("BwcHBwcH").unwrap_err(),
            IdentityError::WrongLength(6)
        );
    }

    #[test]
    fn the_seed_round_trips_through_base64() {
        let identity = Identity::generate().unwrap();
        let again = Identity::from_base64(&identity.to_base64()).unwrap();
        assert_eq!(again.did(), identity.did());
        assert_ne!(Identity::generate().unwrap().did(), identity.did());
    }

    #[test]
    fn the_key_never_prints() {
        let identity = Identity::from_seed(&[7; 32]);
        let shown = format!("{identity:?}");
        assert!(shown.contains(SEVENS_DID));
        assert!(!shown.contains(&*identity.to_base64()));
    }

    /// Checks the JWS as the gateway does: the key comes from the `kid`'s
    /// DID, not from the identity that signed.
    #[test]
    fn a_jws_verifies_against_the_key_named_in_its_kid() {
        let jws =
            Identity::from_seed(&[7; 32]).sign(&json!({"job_id": "j1", "b": [{"z": 1, "a": 2}]}));
        let [signature] = &jws.signatures[..] else {
            panic!("one signature expected")
        };
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&signature.protected).unwrap()).unwrap();
        assert_eq!(header["alg"], "EdDSA");
        let kid = header["kid"].as_str().unwrap();
        let (did, fragment) = kid.split_once('#').unwrap();
        assert_eq!(did, SEVENS_DID);
        assert_eq!(fragment, SEVENS_DID.trim_start_matches("did:key:"));

        let decoded = bs58::decode(&fragment[1..]).into_vec().unwrap();
        assert_eq!(decoded[..2], ED25519_PUB);
        let key = VerifyingKey::from_bytes(decoded[2..].try_into().unwrap()).unwrap();
        let signed = format!("{}.{}", signature.protected, jws.payload);
        let sig =
            Signature::from_slice(&URL_SAFE_NO_PAD.decode(&signature.signature).unwrap()).unwrap();
        key.verify(signed.as_bytes(), &sig).unwrap();
        assert!(key.verify(format!("{signed}x").as_bytes(), &sig).is_err());

        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(&jws.payload).unwrap()).unwrap();
        assert_eq!(payload, r#"{"b":[{"a":2,"z":1}],"job_id":"j1"}"#);
    }
}
