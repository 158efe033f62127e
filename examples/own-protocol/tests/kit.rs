//! The actor kit on a user's protocol: `GuardedActors::inert` removes the messages whose
//! delivery can change nothing, now or ever after, and so merges states that behave alike,
//! with the same verdicts. In `ping`, a pong to a client already answered is inert: the
//! client ignores it, and an answered client stays answered. And `GuardedActors::faults`
//! bounds a run's crashes (with or without recovery) and lost messages for a protocol that
//! does not model them itself.

use ftcheck::catalog::{Catalog, Entry};
use ftcheck::check::{self, CheckRequest};
use ftcheck::describe::Actors;
use ftcheck::engine::{search, CheckOptions, Discovery};
use ftcheck::protocol::guarded::{Faults, GuardedAction, GuardedActors};
use ftcheck::protocol::{Fairness, ParamKind, ParamSpec, Params, Value};
use own_protocol::ping::{PingActor, PingCfg, PingMsg, PingState};
use stateright::actor::{ActorModelAction, ActorModelState, Envelope};

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
    let out = search(
        &model,
        None,
        None,
        &CheckOptions::default(),
        None,
        &mut |_| {},
    );
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

/// `ping` (reliable network, one client, two pings) under a fault budget, as a protocol of the
/// test's own: crashes (with or without recovery) and lost messages, each bounded by a count.
struct FaultyPing;

impl ftcheck::protocol::Protocol for FaultyPing {
    type Model = GuardedActors<PingActor, PingCfg, ()>;
    type Variant = ftcheck::protocol::NoVariants;
    const NAME: &'static str = "faulty-ping";
    const SUMMARY: &'static str = "ping under a fault budget";
    const SECTION: &'static str = "own-protocol's tests/kit.rs";

    fn params() -> Vec<ParamSpec> {
        let int = |name, max| ParamSpec {
            name,
            help: "faults in a run",
            kind: ParamKind::Int { min: 0, max },
            default: Value::Int(0),
        };
        vec![
            int("crashes", 2),
            int("omissions", 3),
            ParamSpec {
                name: "recovery",
                help: "crashed actors may recover",
                kind: ParamKind::Bool,
                default: Value::Bool(false),
            },
        ]
    }

    fn build(params: &Params, _: Option<ftcheck::protocol::NoVariants>) -> Self::Model {
        let cfg = PingCfg {
            clients: 1,
            max_pings: 2,
            lossy: false,
            retry: true,
        };
        GuardedActors::new(cfg.into_model(), None).faults(Faults {
            crashes: params.usize("crashes") as u8,
            recovery: params.bool("recovery"),
            omissions: params.usize("omissions") as u8,
            ..Faults::default()
        })
    }

    /// Deliveries, timeouts and recoveries weakly fair; crashes and losses unfair.
    fn fairness(_: &Self::Model, action: &GuardedAction<PingMsg, (), ()>) -> Fairness {
        match action.actor() {
            Some(
                ActorModelAction::Deliver { .. }
                | ActorModelAction::Timeout(..)
                | ActorModelAction::Recover(_),
            ) => Fairness::Weak,
            _ => Fairness::Unfair,
        }
    }

    fn bound_blocked(
        model: &Self::Model,
        state: &<Self::Model as stateright::Model>::State,
    ) -> Option<&'static str> {
        let spent = state.actor_states.iter().zip(&state.crashed).any(|(s, down)| {
            !down && matches!(**s, PingState::Client { sent, answered: false } if sent >= model.inner.cfg.max_pings)
        });
        spent.then_some("max-pings")
    }
}

/// A catalog of [`FaultyPing`] alone.
fn faulty_catalog() -> Catalog {
    Catalog::new().with(Entry::of::<FaultyPing, Actors>())
}

/// The report of `faulty-ping` under `params`, its traces written to `trace_dir` if given.
fn check_faulty(params: &[&str], trace_dir: Option<&std::path::Path>) -> check::CheckReport {
    let req = CheckRequest {
        model: "faulty-ping".into(),
        params: params.iter().map(|p| p.parse().unwrap()).collect(),
        trace_dir: trace_dir.map(std::path::Path::to_path_buf),
        ..CheckRequest::default()
    };
    check::check(&faulty_catalog(), &req, &mut |_| {}).expect("checks")
}

/// Verdict, trace length and unique states of `every client answered` under `params`.
fn faulty(params: &[&str]) -> (String, Option<usize>, usize) {
    let report = check_faulty(params, None);
    let row = report
        .results
        .iter()
        .find(|r| r.name == "every client answered")
        .expect("the liveness property");
    let verdict = match &row.bound {
        Some(b) => format!("{} (bound: {b})", row.verdict),
        None => row.verdict.to_string(),
    };
    (verdict, row.trace_length, report.stats.unique_states)
}

/// Each fault kind and count changes what the search finds, as the lecture's failure models
/// say it should: one lost message is survived by a retry, two spend the retries; a crash
/// (of the client) is never survived without recovery, and always with it (recovery fair).
#[test]
fn a_fault_budget_bounds_crashes_and_losses_for_any_actor_protocol() {
    let cases: [(&[&str], &str, Option<usize>, usize); 5] = [
        (&[], "holds", None, 11),
        (&["omissions=1"], "holds", None, 17),
        (
            &["omissions=2"],
            "incomplete (bound: max-pings)",
            Some(4),
            19,
        ),
        (&["crashes=1"], "violated", Some(2), 30),
        (&["crashes=1", "recovery=true"], "holds", None, 78),
    ];
    for (params, verdict, length, states) in cases {
        assert_eq!(
            faulty(params),
            (verdict.to_string(), length, states),
            "{params:?}"
        );
    }
    // The faults taken are part of the state, and of the trace file's states.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let report = check_faulty(&["crashes=1"], Some(dir.path()));
    let file = report
        .traces
        .iter()
        .find(|t| t.property == "every client answered")
        .expect("a trace");
    let last = &file.trace.steps.last().expect("steps").state;
    assert_eq!(last["faults"], serde_json::json!({"crashes": 1}));
    assert_eq!(
        file.trace.init_state["faults"],
        serde_json::json!({"crashes": 0})
    );
    // It replays from its file.
    let path = report
        .results
        .iter()
        .find(|r| r.name == "every client answered")
        .and_then(|r| {
            r.trace_files
                .iter()
                .find(|f| f.to_string_lossy().ends_with(".trace.json"))
        })
        .expect("a trace file");
    let replayed = ftcheck::trace::replay(&faulty_catalog(), path).expect("replays");
    assert_eq!(replayed.verdict, ftcheck::runner::Verdict::Violated);
}

/// The report of `ticket` (this crate's fault-layer example) under `params`, traces in `dir`.
fn check_ticket(params: &[&str], dir: &std::path::Path) -> check::CheckReport {
    let req = CheckRequest {
        model: "ticket".into(),
        params: params.iter().map(|p| p.parse().unwrap()).collect(),
        trace_dir: Some(dir.to_path_buf()),
        ..CheckRequest::default()
    };
    check::check(&own_protocol::catalog(), &req, &mut |_| {}).expect("checks")
}

/// Each fault kind is a step of its own in the shortest trace, drawn on the lane of the actor
/// it strikes, with the faults taken in the trace's states; every trace replays from its file.
/// (The verdicts, counts and lengths of every kind are `checks/ticket.toml`'s.)
#[test]
fn every_fault_kind_is_a_step_that_traces_draw_and_replay_re_executes() {
    let cases: [(&[&str], &str, &str, serde_json::Value); 5] = [
        (
            &["amnesia=1"],
            "tickets unique",
            "recover dispenser: after a crash, from storage without next",
            serde_json::json!({"amnesia": 1}),
        ),
        (
            &["byzantine=1"],
            "tickets unique",
            "fault dispenser: forges Ticket(0) to client2",
            serde_json::json!({"byzantine": ["dispenser"]}),
        ),
        (
            &["cuts=1"],
            "every client served",
            "fault dispenser: link dispenser–client2 cut",
            serde_json::json!({"cuts": 1, "cut": ["dispenser–client2"]}),
        ),
        (
            &["duplications=1"],
            "no more tickets than asked",
            "fault client1: network duplicates Request to dispenser",
            serde_json::json!({"duplications": 1}),
        ),
        (
            &["clients=1", "asks=2", "reorderings=1"],
            "tickets in order",
            "deliver dispenser -> client: Ticket(1) (out of order)",
            serde_json::json!({"reorderings": 1}),
        ),
    ];
    for (params, property, fault, faults) in cases {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let report = check_ticket(params, dir.path());
        let file = report
            .traces
            .iter()
            .find(|t| t.property == property)
            .unwrap_or_else(|| panic!("{params:?}: a trace of {property}"));
        let texts: Vec<String> = file
            .trace
            .steps
            .iter()
            .map(|s| ftcheck::trace::event_text_padded(&s.event, 0))
            .collect();
        assert!(texts.contains(&fault.to_string()), "{params:?}: {texts:#?}");
        let last = &file.trace.steps.last().expect("steps").state;
        assert_eq!(last["faults"], faults, "{params:?}");
        let path = report
            .results
            .iter()
            .find(|r| r.name == property)
            .and_then(|r| {
                r.trace_files
                    .iter()
                    .find(|f| f.to_string_lossy().ends_with(".trace.json"))
            })
            .expect("a trace file");
        let replayed = ftcheck::trace::replay(&own_protocol::catalog(), path).expect("replays");
        assert_eq!(
            replayed.verdict,
            ftcheck::runner::Verdict::Violated,
            "{params:?}"
        );
    }
}
