//! Tiers of different node kinds, circuit breakers and flapping nodes: the
//! engine runs each job in-process and answers with its typed report.
//!
//! IPFS Cluster and the Pinning Service API cannot run here: their TEST
//! DOUBLES (tests/harness/cluster_double.py, pinning_service_double.py)
//! speak the documented wire formats and pin on real kubo harness nodes.

mod common;

use std::time::Duration;

use common::{attempts_of, encode, open_engine, replica_nodes, set_secret};
use serde_json::json;
use tank_model::JobState;
use tank_testkit::{ClusterDouble, HarnessNode, PinningServiceDouble, World};

#[tokio::test]
async fn each_cluster_peer_that_pins_counts_as_a_replica() {
    let world = World::with_nodes(1).await;
    let (peer_a, peer_b) = tokio::join!(HarnessNode::start("peer-a"), HarnessNode::start("peer-b"));
    let cluster = ClusterDouble::start(&[&peer_a, &peer_b], Some("tank:cluster-pass")).await;
    world.write_config(&format!(
        "[[nodes]]\nname = \"cluster\"\nkind = \"cluster\"\napi = \"{}\"\nauth = \"jwt\"\nusername = \"tank\"\n",
        cluster.api
    ));
    world.edit_config("[pinning]\n", "[pinning]\nquorum = 3\n");
    set_secret(&world, "node:cluster", "cluster-pass");
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::Done, "{report:#?}");
    assert_eq!(
        replica_nodes(&report),
        ["cluster/peer-a", "cluster/peer-b", "supernode"]
    );
    let cid = report.cid.as_deref().unwrap();
    assert!(
        peer_a.has_pin(cid).await && peer_b.has_pin(cid).await,
        "the peers' kubo nodes hold it"
    );
    let calls = cluster.calls().await;
    assert!(
        calls.get("POST /token").copied().unwrap_or(0) >= 1,
        "JWT auth was used: {calls:?}"
    );
}

#[tokio::test]
async fn a_cluster_that_is_down_hands_over_to_the_next_tier() {
    let world = World::with_nodes(1).await;
    let (peer, service_store) = tokio::join!(
        HarnessNode::start("peer"),
        HarnessNode::start("service-store")
    );
    let cluster = ClusterDouble::start(&[&peer], None).await;
    cluster.refuse_connections().await;
    let service = PinningServiceDouble::start(&service_store, "service-token").await;
    world.write_config(&format!(
        "[[nodes]]\nname = \"cluster\"\nkind = \"cluster\"\napi = \"{}\"\ntier = 1\n\
         [[nodes]]\nname = \"pinata\"\nkind = \"pinning-service\"\napi = \"{}\"\ntier = 2\n",
        cluster.api, service.api
    ));
    set_secret(&world, "node:pinata", "service-token");
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::Done, "{report:#?}");
    assert_eq!(replica_nodes(&report), ["pinata", "supernode"]);
    let cluster_tries = attempts_of(&report, "cluster", "cluster pin");
    assert!(
        !cluster_tries.is_empty() && cluster_tries.iter().all(|(_, ok, _)| !ok),
        "{cluster_tries:?}"
    );
    assert!(service_store.has_pin(report.cid.as_deref().unwrap()).await);
}

#[tokio::test]
async fn a_pinning_service_that_reports_failed_is_not_a_replica() {
    let world = World::with_nodes(1).await;
    let (service_store, backup) = tokio::join!(
        HarnessNode::start("service-store"),
        HarnessNode::start("backup")
    );
    let service = PinningServiceDouble::start(&service_store, "service-token").await;
    service.fail_next_pins(10).await;
    world.write_config(&format!(
        "[[nodes]]\nname = \"pinata\"\nkind = \"pinning-service\"\napi = \"{}\"\ntier = 1\n\
         [[nodes]]\nname = \"last-resort\"\napi = \"{}\"\ntier = 2\n",
        service.api, backup.api
    ));
    set_secret(&world, "node:pinata", "service-token");
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::Done, "{report:#?}");
    assert_eq!(replica_nodes(&report), ["last-resort", "supernode"]);
    let polls = attempts_of(&report, "pinata", "service status");
    assert!(
        polls
            .iter()
            .any(|(_, ok, e)| !ok && e.contains("reports the pin failed")),
        "{polls:?}"
    );
}

#[tokio::test]
async fn the_breaker_skips_a_dead_node_without_calling_it() {
    let world = World::with_nodes(3).await;
    world.edit_config(
        "breaker_cooldown = \"2s\"",
        "breaker_cooldown = \"10m\"\nbreaker_failures = 1",
    );
    let hung = world.node("backup-1");
    hung.fault(json!({"op": "*", "action": "hang"})).await;
    let engine = open_engine(&world);

    let first = encode(&engine, &world.short_clip()).await;
    assert_eq!(first.state, JobState::Done, "{first:#?}");
    let calls_after_first = hung.calls().await;

    let second = encode(&engine, &world.short_clip()).await;

    assert_eq!(second.state, JobState::Done, "{second:#?}");
    assert_eq!(replica_nodes(&second), ["backup-2", "supernode"]);
    assert_eq!(
        hung.calls().await,
        calls_after_first,
        "the second job never called the dead node"
    );
    let skipped = attempts_of(&second, "backup-1", "pin");
    assert_eq!(skipped.len(), 1, "{:#?}", second.attempts);
    assert!(
        skipped[0].2.contains("circuit breaker open"),
        "{}",
        skipped[0].2
    );
}

#[tokio::test]
async fn a_flapping_node_does_not_stall_a_job() {
    let world = World::with_nodes(3).await;
    let flapping = world.node("backup-1");
    let engine = open_engine(&world);
    let clip = world.short_clip();
    let job = encode(&engine, &clip);
    tokio::pin!(job);

    // The node is refused and accepted again every 150 ms until the job ends.
    let report = loop {
        tokio::select! {
            report = &mut job => break report,
            _ = async {
                flapping.refuse_connections().await;
                tokio::time::sleep(Duration::from_millis(150)).await;
                flapping.accept_connections().await;
                tokio::time::sleep(Duration::from_millis(150)).await;
            } => {}
        }
    };

    assert_eq!(report.state, JobState::Done, "{report:#?}");
    assert_eq!(report.replicas.len(), 2);
}

#[tokio::test]
async fn a_kubo_node_behind_api_authorization_takes_its_token_from_the_keyring() {
    let world = World::with_nodes(1).await;
    let guarded = HarnessNode::start_with_auth("guarded", "bearer:node-token").await;
    world.write_config(&format!(
        "[[nodes]]\nname = \"guarded\"\napi = \"{}\"\nauth = \"bearer\"\n",
        guarded.api
    ));
    set_secret(&world, "node:guarded", "node-token");
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::Done, "{report:#?}");
    assert_eq!(replica_nodes(&report), ["guarded", "supernode"]);
    assert!(guarded.has_pin(report.cid.as_deref().unwrap()).await);
}

#[tokio::test]
async fn a_replica_counts_only_if_its_gateway_serves_the_manifest() {
    let world = World::with_nodes(1).await;
    let (honest, truncating) = tokio::join!(
        HarnessNode::start("honest"),
        HarnessNode::start("truncating")
    );
    // A gateway that answers 200 with half the bytes, as broken ones do.
    truncating
        .fault(json!({"op": "gateway", "action": "lie"}))
        .await;
    world.write_config(&format!(
        "[[nodes]]\nname = \"truncating\"\napi = \"{}\"\ngateway = \"{}\"\ntier = 1\n\
         [[nodes]]\nname = \"honest\"\napi = \"{}\"\ngateway = \"{}\"\ntier = 2\n",
        truncating.api, truncating.gateway, honest.api, honest.gateway
    ));
    world.edit_config("[pinning]\n", "[pinning]\nquorum = 2\n");
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::Done, "{report:#?}");
    assert_eq!(replica_nodes(&report), ["honest", "supernode"]);
    assert!(attempts_of(&report, "honest", "gateway")
        .iter()
        .all(|(_, ok, _)| *ok));
    let refused = attempts_of(&report, "truncating", "gateway");
    assert!(
        refused
            .iter()
            .any(|(_, ok, e)| !ok && e.contains("differs from ours")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_primary_that_hangs_from_the_start_costs_one_timeout_and_is_never_asked_again() {
    let world = World::with_nodes(3).await;
    world
        .node("supernode")
        .fault(json!({"op": "*", "action": "hang"}))
        .await;
    let engine = open_engine(&world);

    let report = encode(&engine, &world.short_clip()).await;

    assert_eq!(report.state, JobState::Done, "{report:#?}");
    assert_eq!(replica_nodes(&report), ["backup-1", "backup-2"]);
    // Its `id` before the upload timed out; the pin stage then put it
    // behind both backups, which made the quorum together.
    let asked: Vec<(&str, bool)> = report
        .attempts
        .iter()
        .filter(|a| a.node == "supernode")
        .map(|a| (a.op.as_str(), a.ok))
        .collect();
    assert_eq!(asked, [("id", false)], "{:#?}", report.attempts);
}
