//! The actors ftcheck checks are the actors that run: stateright's Paxos servers (the same
//! `PaxosActor` the `stateright-paxos` entry checks) spawned over UDP on 127.0.0.1 with
//! stateright's `spawn`, and a client's write committed by a quorum and read back.

use own_protocol::paxos::{PaxosActor, PaxosMsg, RequestId, Value};
use stateright::actor::register::RegisterMsg;
use stateright::actor::Id;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

type Msg = RegisterMsg<RequestId, Value, PaxosMsg>;

/// Sends `msg` to `server` until a reply `wanted` accepts arrives (UDP may lose either).
fn ask(client: &UdpSocket, server: SocketAddrV4, msg: &Msg, wanted: impl Fn(&Msg) -> bool) -> Msg {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0; 65_535];
    while Instant::now() < deadline {
        client
            .send_to(&serde_json::to_vec(msg).expect("JSON"), server)
            .expect("sent");
        if let Ok((n, _)) = client.recv_from(&mut buf) {
            if let Ok(reply) = serde_json::from_slice::<Msg>(&buf[..n]) {
                if wanted(&reply) {
                    return reply;
                }
            }
        }
    }
    panic!("no reply to {msg:?} from {server} in 20 s");
}

#[test]
fn paxos_servers_run_over_udp_and_commit_a_client_s_write() {
    let (addrs, ids) = ftcheck::protocol::udp::local_addresses(3);
    let servers: Vec<(Id, PaxosActor)> = ids
        .iter()
        .map(|&id| {
            let peer_ids = ids.iter().copied().filter(|&p| p != id).collect();
            (id, PaxosActor { peer_ids })
        })
        .collect();
    // The servers run until the process ends.
    ftcheck::protocol::udp::spawn_json(servers);
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a client socket");
    client
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("a timeout");
    // The write is acknowledged once a quorum accepted it (the leader is then decided).
    let put = ask(&client, addrs[0], &RegisterMsg::Put(1, 'X'), |m| {
        matches!(m, RegisterMsg::PutOk(1))
    });
    assert_eq!(put, RegisterMsg::PutOk(1));
    let get = ask(&client, addrs[0], &RegisterMsg::Get(2), |m| {
        matches!(m, RegisterMsg::GetOk(2, _))
    });
    assert_eq!(get, RegisterMsg::GetOk(2, 'X'));
}
