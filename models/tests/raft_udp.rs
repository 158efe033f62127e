//! The actors ftcheck checks are the actors that run: the `raft` model's servers
//! ([`RaftActor`], the code the checker explores) spawned over UDP on 127.0.0.1 with
//! stateright's `spawn`, and a client's operation committed by them.

use ftcheck_models::raft::{Extensions, Msg, RaftActor};
use stateright::actor::Id;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

#[test]
fn raft_servers_run_over_udp_and_commit_a_client_operation() {
    // `spawn` keeps each server's storage (currentTerm, votedFor, log) in `ADDR.storage` in
    // the working folder: a folder of this test's own.
    let dir = std::env::temp_dir().join(format!("ftcheck-raft-udp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    std::env::set_current_dir(&dir).expect("cd");
    commits(Extensions::default());
    // The same with PreVote and CheckQuorum (a second group, on ports of its own).
    commits(Extensions {
        pre_vote: true,
        check_quorum: true,
        acks: false,
    });
    std::fs::remove_dir_all(&dir).ok();
}

/// Spawns three servers and sends them `ClientRequest(o7)` until one answers that o7 is
/// committed at index 1.
fn commits(extensions: Extensions) {
    let (addrs, peers) = ftcheck_protocol::udp::local_addresses(3);
    let servers: Vec<(Id, RaftActor)> = (0..3)
        .map(|me| {
            (
                peers[me],
                RaftActor {
                    peers: peers.clone(),
                    me,
                    may_campaign: true,
                    model_clients: false,
                    variant: None,
                    extensions,
                },
            )
        })
        .collect();
    ftcheck_protocol::udp::spawn_json(servers);
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a client socket");
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("a timeout");
    // The request goes to every server, again and again (UDP may lose it, and only the
    // leader appends it); the leader answers once a majority stores it.
    let request = serde_json::to_vec(&Msg::ClientRequest { op: 7 }).expect("JSON");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0; 65_535];
    let answer = loop {
        assert!(
            Instant::now() < deadline,
            "no server committed o7 in 30 s ({extensions:?})"
        );
        for &server in &addrs {
            client.send_to(&request, server).expect("sent");
        }
        if let Ok((n, from)) = client.recv_from(&mut buf) {
            if let Ok(Msg::Committed { op, index }) = serde_json::from_slice(&buf[..n]) {
                break (op, index, from);
            }
        }
    };
    assert_eq!((answer.0, answer.1), (7, 1), "o7 committed at index 1");
    assert!(addrs
        .iter()
        .any(|a| std::net::SocketAddr::V4(*a) == answer.2));
}
