//! Our signed requests, checked by the JavaScript libraries the 3Speak
//! gateway itself uses (`dids` 5, `key-did-provider-ed25519` 4,
//! `key-did-resolver` 4, installed from npm into `tests/gateway-jws` by
//! `scripts/setup.sh`). The gateway's `verifyJWS` must accept what we send,
//! and the libraries' own signature of the same payload with the same seed
//! must be byte for byte ours.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use tank_gateway::Identity;

const SEVENS_DID: &str = "did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z";

fn check_with_javascript(identity: &Identity, payload: &Value) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/gateway-jws");
    assert!(
        dir.join("node_modules/dids").is_dir(),
        "the gateway's JavaScript libraries are not installed in {}: run scripts/setup.sh",
        dir.display()
    );
    let input = json!({
        "seed": *identity.to_base64(),
        "payload": payload,
        "jws": identity.sign(payload),
    });
    let mut child = Command::new("node")
        .arg("check.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the gateway's libraries refused our JWS: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_gateway_libraries_verify_our_jws_and_sign_exactly_as_we_do() {
    let identity = Identity::from_seed(&[7; 32]);
    let payloads = [
        json!({"job_id": "6f1c2a"}),
        json!({"job_id": "6f1c2a", "output": {"cid": "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"}}),
        json!({"node_info": {"name": "tank ü", "cryptoAccounts": {"hive": "alice"}, "peer_id": null, "commit_hash": "0.1.0"}}),
        json!({"job_id": "x", "progressPct": 42.5, "download_pct": 100}),
    ];
    for payload in payloads {
        let answer = check_with_javascript(&identity, &payload);
        assert_eq!(answer["did"], SEVENS_DID);
        assert_eq!(answer["payload"], payload);
        assert_eq!(
            answer["reference"],
            serde_json::to_value(identity.sign(&payload)).unwrap(),
            "the libraries sign {payload} differently"
        );
    }
}

#[test]
fn a_generated_identity_is_verified_by_the_gateway_libraries_too() {
    let identity = Identity::generate().unwrap();
    let payload = json!({"job_id": "y"});
    let answer = check_with_javascript(&identity, &payload);
    assert_eq!(answer["did"], identity.did());
}
