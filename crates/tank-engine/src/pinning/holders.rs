//! Which kubo nodes hold a job's content, and their swarm addresses: the
//! sources other nodes fetch from. Shared by the workers running at once.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::stages::Stage;

pub(crate) struct Holders {
    inner: Mutex<Inner>,
}

struct Inner {
    /// In the order they got the content.
    names: Vec<String>,
    /// Swarm addresses of holders, asked once (`id`).
    addresses: HashMap<String, Vec<String>>,
}

impl Holders {
    pub fn new(names: Vec<String>) -> Holders {
        Holders {
            inner: Mutex::new(Inner {
                names,
                addresses: HashMap::new(),
            }),
        }
    }

    /// Records a holder's addresses learned earlier.
    pub fn known(&self, name: &str, addresses: Vec<String>) {
        if !addresses.is_empty() {
            self.inner
                .lock()
                .expect("not poisoned")
                .addresses
                .insert(name.to_owned(), addresses);
        }
    }

    pub fn add(&self, name: &str) {
        let mut inner = self.inner.lock().expect("not poisoned");
        if !inner.names.iter().any(|n| n == name) {
            inner.names.push(name.to_owned());
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.inner
            .lock()
            .expect("not poisoned")
            .names
            .iter()
            .any(|n| n == name)
    }

    pub fn names(&self) -> Vec<String> {
        self.inner.lock().expect("not poisoned").names.clone()
    }

    /// A holder's swarm addresses, from its `id` (asked once per job).
    /// `None` when it cannot tell (down, not kubo).
    pub async fn addresses_of(
        &self,
        stage: &Stage<'_>,
        holder: &str,
        attempt: u32,
    ) -> Option<Vec<String>> {
        if let Some(known) = self
            .inner
            .lock()
            .expect("not poisoned")
            .addresses
            .get(holder)
        {
            return Some(known.clone());
        }
        let node = stage.node(holder)?;
        let kubo = node.kubo()?;
        let timeout = stage.config.pinning.attempt_timeout;
        let identity = stage
            .recorder
            .call(holder, "id", attempt, kubo.id(timeout))
            .await
            .ok()?;
        let addresses: Vec<String> = identity
            .addresses
            .into_iter()
            .filter(|a| a.contains("/p2p/"))
            .collect();
        if addresses.is_empty() {
            return None;
        }
        self.inner
            .lock()
            .expect("not poisoned")
            .addresses
            .insert(holder.to_owned(), addresses.clone());
        Some(addresses)
    }

    /// The IPFS peer ID of a kubo holder, from its addresses (`…/p2p/<id>`).
    pub async fn peer_of(&self, stage: &Stage<'_>, holder: &str, attempt: u32) -> Option<String> {
        let addresses = self.addresses_of(stage, holder, attempt).await?;
        addresses
            .iter()
            .find_map(|a| a.rsplit_once("/p2p/").map(|(_, peer)| peer.to_owned()))
    }

    /// Addresses of every holder that can tell them: the `origins` a
    /// cluster or pinning service fetches from.
    pub async fn origins(&self, stage: &Stage<'_>, attempt: u32) -> Vec<String> {
        let mut origins = Vec::new();
        for holder in self.names() {
            if let Some(addresses) = self.addresses_of(stage, &holder, attempt).await {
                origins.extend(addresses);
            }
        }
        origins
    }
}
