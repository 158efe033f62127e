//! The actor kit on a user's protocol: `GuardedActors::inert` removes the messages whose
//! delivery can change nothing, now or ever after, and so merges states that behave alike,
//! with the same verdicts. In `ping`, a pong to a client already answered is inert: the
//! client ignores it, and an answered client stays answered.

use ftcheck::engine::{search, CheckOptions, Discovery};
use ftcheck::protocol::guarded::GuardedActors;
use own_protocol::ping::{PingActor, PingCfg, PingMsg, PingState};
use stateright::actor::{ActorModelState, Envelope};

/// A pong to an answered client.
fn stale_pong(_: &PingCfg, state: &ActorModelState<PingActor>, e: Envelope<&PingMsg>) -> bool {
    *e.msg == PingMsg::Pong
        && matches!(
            *state.actor_states[usize::from(e.dst)],
            PingState::Client { answered: true, .. }
        )
}

/// A pong to a client not yet answered: not inert (its delivery answers the client).
fn any_pong(_: &PingCfg, _: &ActorModelState<PingActor>, e: Envelope<&PingMsg>) -> bool {
    *e.msg == PingMsg::Pong
}

fn cfg(lossy: bool) -> PingCfg {
    PingCfg {
        clients: 3,
        max_pings: 3,
        lossy,
        retry: true,
    }
}

/// Unique states, and for each property whether the search decided it (violated or reached).
fn explore(model: GuardedActors<PingActor, PingCfg, ()>) -> (usize, Vec<bool>) {
    let out = search(&model, None, &CheckOptions::default(), None, &mut |_| {});
    assert!(out.stopped.is_none(), "exhaustive");
    let decided = out
        .discoveries
        .iter()
        .map(|d| matches!(d, Some(Discovery::Trace(_))))
        .collect();
    (out.stats.unique_states, decided)
}

#[test]
fn inert_pongs_leave_the_network_and_the_verdicts_stay() {
    // Reliable: no fewer states. stateright offers no delivery that changes nothing, so a
    // stale pong can only leave by the rule, and the states with one and without one are in
    // one-to-one correspondence. Lossy: a stale pong may also be lost, so "answered, stale pong
    // lost" and "answered, stale pong in flight" both exist, and the rule merges them.
    for (lossy, whole, pruned) in [(false, 6_859, 6_859), (true, 59_319, 42_875)] {
        let all = explore(GuardedActors::new(cfg(lossy).into_model(), None));
        let fewer = explore(GuardedActors::new(cfg(lossy).into_model(), None).inert(stale_pong));
        assert_eq!((all.0, fewer.0), (whole, pruned), "lossy={lossy}");
        assert_eq!(all.1, fewer.1, "lossy={lossy}: the same properties decided");
    }
}

#[test]
#[should_panic(expected = "but delivering it now changes its receiver or sends")]
fn a_rule_that_calls_a_live_message_inert_is_refused() {
    explore(GuardedActors::new(cfg(false).into_model(), None).inert(any_pong));
}
