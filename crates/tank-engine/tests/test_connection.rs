//! Settings' "test connection": a node's stored secret is sent only to the
//! address it was saved for, never to a URL being edited.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tank_config::{AuthKind, NodeConfig, NodeRole, Secrets};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

/// A listener that keeps each request's head (lower-cased) and answers 500.
async fn recording_listener() -> (Url, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).to_lowercase());
            let _ = socket
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    (url, heads)
}

fn bearer_node(api: &Url) -> NodeConfig {
    NodeConfig {
        auth: Some(AuthKind::Bearer),
        ..NodeConfig::kubo("pinata-kubo", api.clone(), NodeRole::Backup)
    }
}

#[tokio::test]
async fn a_stored_token_is_never_sent_to_an_address_being_edited() {
    let service = format!("tank-test-connection-{}", std::process::id());
    let secrets = Secrets::new(&service);
    secrets.set("node:pinata-kubo", "stored-token").unwrap();
    let (saved_url, saved_heads) = recording_listener().await;
    let (edited_url, edited_heads) = recording_listener().await;
    let saved = bearer_node(&saved_url);
    let timeout = Duration::from_secs(5);

    let edited = tank_engine::test_node(
        &bearer_node(&edited_url),
        None,
        Some(&saved),
        &secrets,
        timeout,
    )
    .await;
    let unchanged = tank_engine::test_node(&saved, None, Some(&saved), &secrets, timeout).await;
    let typed = tank_engine::test_node(
        &bearer_node(&edited_url),
        Some("typed-token"),
        Some(&saved),
        &secrets,
        timeout,
    )
    .await;
    secrets.delete("node:pinata-kubo").unwrap();

    assert!(!edited.reachable);
    assert!(
        edited
            .error
            .as_deref()
            .unwrap()
            .contains("type the secret to test this address"),
        "{edited:?}"
    );
    let edited_heads = edited_heads.lock().unwrap().clone();
    assert_eq!(edited_heads.len(), 1, "only the typed test reached it");
    assert!(edited_heads[0].contains("authorization: bearer typed-token"));
    assert!(!edited_heads.iter().any(|h| h.contains("stored-token")));
    assert!(unchanged.error.is_some(), "the listener answers 500");
    let saved_heads = saved_heads.lock().unwrap().clone();
    assert!(
        saved_heads[0].contains("authorization: bearer stored-token"),
        "the saved address gets the stored token: {saved_heads:?}"
    );
    assert!(typed.error.is_some());
}
