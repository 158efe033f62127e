//! A protocol's actors outside the checker: the same [`Actor`]s the checker explores, run over
//! UDP on 127.0.0.1 with stateright's `spawn`, messages and storage as JSON.

use serde::de::DeserializeOwned;
use serde::Serialize;
use stateright::actor::{spawn, Actor, Id};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};

/// `n` free UDP addresses on 127.0.0.1 (free when asked; bind them right after) and the actor
/// ids stateright derives from them.
///
/// # Panics
/// If the system has no free port.
pub fn local_addresses(n: usize) -> (Vec<SocketAddrV4>, Vec<Id>) {
    let addrs: Vec<SocketAddrV4> = (0..n)
        .map(|_| {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
            match socket.local_addr().expect("an address") {
                std::net::SocketAddr::V4(a) => a,
                other => panic!("not IPv4: {other}"),
            }
        })
        .collect();
    let ids = addrs.iter().map(|&a| Id::from(a)).collect();
    (addrs, ids)
}

/// Runs `actors` (each with an id of [`local_addresses`]) on threads until the process ends,
/// messages and storage serialised as JSON. stateright keeps each actor's storage in a file
/// `ADDRESS.storage` in the working folder.
pub fn spawn_json<A>(actors: Vec<(Id, A)>)
where
    A: 'static + Send + Actor,
    A::Msg: Serialize + DeserializeOwned,
    A::Storage: Serialize + DeserializeOwned,
{
    std::thread::spawn(move || {
        spawn(
            serde_json::to_vec,
            |bytes| serde_json::from_slice(bytes),
            serde_json::to_vec,
            |bytes| serde_json::from_slice(bytes),
            actors,
        )
    });
}
