//! Protocols ftcheck did not write, checked with its command line: stateright's own examples
//! of two-phase commit (a plain `Model`), a single-copy register (an `ActorModel`, not
//! linearizable with two servers) and the ABD register (an `ActorModel`, linearizable).
//!
//! Each is a [`Protocol`]: a name, parameters, and a `build` that returns the model exactly as
//! its authors wrote it, with its own properties. [`catalog`] adds them to ftcheck's built-in
//! protocols, and `src/main.rs` hands that catalog to [`ftcheck::cli::main`].
//!
//! stateright's single-decree Paxos example ([`paxos`]) is checked with the actor kit's rule
//! for inert messages on request (`--param inert=true`).
//!
//! [`ping`] is this crate's own: an `ActorModel` whose entry declares fairness, a
//! leads-to property, a bound and symmetry, which ftcheck checks for liveness. [`ticket`] is
//! too: a ticket dispenser with every fault kind of the actor kit as a parameter.

pub mod abd_register;
pub mod paxos;
pub mod ping;
pub mod single_copy_register;
pub mod ticket;
pub mod two_phase_commit;

use ftcheck::catalog::Catalog;
use ftcheck::protocol::guarded::{Guarded, GuardedActors};
use ftcheck::protocol::{
    Fairness, LeadsTo, NoVariants, ParamKind, ParamSpec, Params, Protocol, Symmetry, Value,
    VariantSpec, Variants,
};
use stateright::actor::register::RegisterActor;
use stateright::actor::{ActorModel, ActorModelAction, Id, Network};
use stateright::semantics::register::Register;
use stateright::semantics::LinearizabilityTester;
use stateright::Representative;

/// ftcheck's built-in protocols and this crate's six.
pub fn catalog() -> Catalog {
    Catalog::builtin()
        .with(ftcheck::catalog::Entry::of::<
            TwoPhase,
            ftcheck::describe::Laned,
        >())
        .with(ftcheck::catalog::Entry::of::<
            Guarded<SingleCopy>,
            ftcheck::describe::Actors,
        >())
        .with(ftcheck::catalog::Entry::of::<
            Guarded<Abd>,
            ftcheck::describe::Actors,
        >())
        .with(ftcheck::catalog::Entry::of::<
            Guarded<Ping>,
            ftcheck::describe::Actors,
        >())
        .with(ftcheck::catalog::Entry::of::<
            StaterightPaxos,
            ftcheck::describe::Actors,
        >())
        .with(ftcheck::catalog::Entry::of::<
            ticket::Ticket,
            ftcheck::describe::Actors,
        >())
}

/// An integer parameter.
fn int(name: &'static str, help: &'static str, min: i64, max: i64, default: i64) -> ParamSpec {
    ParamSpec {
        name,
        help,
        kind: ParamKind::Int { min, max },
        default: Value::Int(default),
    }
}

/// stateright's two-phase commit example ([`two_phase_commit::TwoPhaseSys`]).
pub struct TwoPhase;

impl Protocol for TwoPhase {
    type Model = two_phase_commit::TwoPhaseSys;
    type Variant = NoVariants;
    const NAME: &'static str = "stateright-2pc";
    const SUMMARY: &'static str = "stateright's two-phase commit example (Gray and Lamport)";
    const SECTION: &'static str = "stateright 0.31 examples/2pc.rs";

    fn params() -> Vec<ParamSpec> {
        vec![int("rms", "resource managers", 1, 8, 3)]
    }

    fn build(params: &Params, _: Option<NoVariants>) -> Self::Model {
        two_phase_commit::TwoPhaseSys {
            rms: 0..params.usize("rms"),
        }
    }

    fn symmetry() -> Option<ftcheck::protocol::Symmetry<Self::Model>> {
        Some(|state| state.representative())
    }
}

/// Where each step of stateright's 2pc example happens, for a lane per process in its traces
/// (the `Laned` describer): the transaction manager `TM` and the resource managers `RM1`…
/// A message is a delivery from its sender's lane to its receiver's; the rest are local steps.
impl ftcheck::protocol::Lanes for two_phase_commit::TwoPhaseSys {
    fn lanes(&self) -> Vec<String> {
        let rms = self.rms.clone().map(|rm| format!("RM{}", rm + 1));
        std::iter::once("TM".to_string()).chain(rms).collect()
    }

    fn lane_step(
        &self,
        _: &two_phase_commit::TwoPhaseState,
        action: &two_phase_commit::Action,
    ) -> ftcheck::protocol::LaneStep {
        use ftcheck::protocol::LaneStep::{Deliver, Local};
        use two_phase_commit::Action;
        let rm = |rm: usize| format!("RM{}", rm + 1);
        let tm = || "TM".to_string();
        let local = |at: String, detail: &str| Local {
            at,
            detail: detail.into(),
        };
        let deliver = |from: String, to: String, msg: &str| Deliver {
            from,
            to,
            msg: msg.into(),
        };
        match *action {
            Action::TmRcvPrepared(r) => deliver(rm(r), tm(), "Prepared"),
            Action::TmCommit => local(tm(), "commits: sends Commit"),
            Action::TmAbort => local(tm(), "aborts: sends Abort"),
            Action::RmPrepare(r) => local(rm(r), "prepares: sends Prepared"),
            Action::RmChooseToAbort(r) => local(rm(r), "chooses to abort"),
            Action::RmRcvCommitMsg(r) => deliver(tm(), rm(r), "Commit"),
            Action::RmRcvAbortMsg(r) => deliver(tm(), rm(r), "Abort"),
        }
    }
}

/// The register's history: what linearizability is checked against.
type History = LinearizabilityTester<Id, Register<char>>;

/// stateright's single-copy register example ([`single_copy_register`]).
pub struct SingleCopy;

impl Protocol for SingleCopy {
    type Model = ActorModel<
        RegisterActor<single_copy_register::SingleCopyActor>,
        single_copy_register::SingleCopyModelCfg,
        History,
    >;
    type Variant = NoVariants;
    const NAME: &'static str = "single-copy-register";
    const SUMMARY: &'static str =
        "stateright's single-copy register example: linearizable with one server, not with two";
    const SECTION: &'static str = "stateright 0.31 examples/single-copy-register.rs";

    fn params() -> Vec<ParamSpec> {
        vec![
            int(
                "clients",
                "clients, each writing once then reading",
                1,
                3,
                2,
            ),
            int("servers", "servers, each with its own copy", 1, 3, 2),
        ]
    }

    fn build(params: &Params, _: Option<NoVariants>) -> Self::Model {
        single_copy_register::SingleCopyModelCfg {
            client_count: params.usize("clients"),
            server_count: params.usize("servers"),
            network: Network::new_unordered_nonduplicating([]),
        }
        .into_model()
    }
}

/// stateright's ABD linearizable register example ([`abd_register`]).
pub struct Abd;

impl Protocol for Abd {
    type Model =
        ActorModel<RegisterActor<abd_register::AbdActor>, abd_register::AbdModelCfg, History>;
    type Variant = NoVariants;
    const NAME: &'static str = "abd-register";
    const SUMMARY: &'static str =
        "stateright's ABD register example (Attiya, Bar-Noy and Dolev): linearizable";
    const SECTION: &'static str = "stateright 0.31 examples/linearizable-register.rs";

    fn params() -> Vec<ParamSpec> {
        vec![
            int(
                "clients",
                "clients, each writing once then reading",
                1,
                3,
                2,
            ),
            int("servers", "servers replicating the register", 1, 3, 2),
        ]
    }

    fn build(params: &Params, _: Option<NoVariants>) -> Self::Model {
        abd_register::AbdModelCfg {
            client_count: params.usize("clients"),
            server_count: params.usize("servers"),
            network: Network::new_unordered_nonduplicating([]),
        }
        .into_model()
    }
}

/// The variants of [`Ping`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingVariant {
    /// Clients set no timer, so a lost ping is never sent again.
    NoRetry,
}

impl Variants for PingVariant {
    const ALL: &'static [(Self, VariantSpec)] = &[(
        PingVariant::NoRetry,
        VariantSpec {
            name: "no-retry",
            summary: "clients never retry: one lost ping violates `every client answered`",
        },
    )];
}

/// This crate's own protocol ([`ping`]), with fairness, leads-to, a bound and symmetry.
pub struct Ping;

impl Protocol for Ping {
    type Model = ActorModel<ping::PingActor, ping::PingCfg>;
    type Variant = PingVariant;
    const NAME: &'static str = "ping";
    const SUMMARY: &'static str =
        "clients ping a server over a lossy network and retry on a timeout";
    const SECTION: &'static str = "own-protocol's src/ping.rs";
    const FAIRNESS: &'static str = "deliveries and timeouts weakly fair; losses unfair";

    fn params() -> Vec<ParamSpec> {
        vec![
            int("clients", "clients pinging the one server", 1, 3, 2),
            int("max-pings", "pings a client sends at most", 1, 3, 2),
            ParamSpec {
                name: "lossy",
                help: "whether the network may lose a message",
                kind: ParamKind::Bool,
                default: Value::Bool(true),
            },
        ]
    }

    fn build(params: &Params, variant: Option<PingVariant>) -> Self::Model {
        ping::PingCfg {
            clients: params.usize("clients"),
            max_pings: params.usize("max-pings") as u8,
            lossy: params.bool("lossy"),
            retry: variant != Some(PingVariant::NoRetry),
        }
        .into_model()
    }

    fn symmetry() -> Option<Symmetry<Self::Model>> {
        Some(|state| state.representative())
    }

    fn fairness(_: &Self::Model, action: &ActorModelAction<ping::PingMsg, (), ()>) -> Fairness {
        match action {
            ActorModelAction::Deliver { .. } | ActorModelAction::Timeout(..) => Fairness::Weak,
            _ => Fairness::Unfair,
        }
    }

    fn leads_to() -> Vec<LeadsTo<Self::Model>> {
        // Once the server has answered someone (a pong is in flight), every client is
        // eventually answered. A run in which the server never answers owes nothing: with one
        // client and `no-retry`, losing the only ping satisfies it.
        vec![LeadsTo {
            property: "every client answered",
            trigger: |_, state| {
                state
                    .network
                    .iter_deliverable()
                    .any(|e| *e.msg == ping::PingMsg::Pong)
            },
        }]
    }

    fn bound_blocked(
        model: &Self::Model,
        state: &<Self::Model as stateright::Model>::State,
    ) -> Option<&'static str> {
        // A client still waiting with its pings spent would ping again but for the bound.
        let retry = matches!(
            model.actors.last(),
            Some(ping::PingActor::Client { retry: true, .. })
        );
        let spent = state.actor_states.iter().any(|s| {
            matches!(**s, ping::PingState::Client { sent, answered: false } if sent >= model.cfg.max_pings)
        });
        (retry && spent).then_some("max-pings")
    }
}

/// stateright's single-decree Paxos example ([`paxos`]), built as the actor kit's
/// `GuardedActors` so that it can take the rule for inert messages ([`paxos::stale`]).
pub struct StaterightPaxos;

impl Protocol for StaterightPaxos {
    type Model = GuardedActors<RegisterActor<paxos::PaxosActor>, paxos::PaxosModelCfg, History>;
    type Variant = NoVariants;
    const NAME: &'static str = "stateright-paxos";
    const SUMMARY: &'static str =
        "stateright's single-decree Paxos example (a register): linearizable";
    const SECTION: &'static str = "stateright 0.31 examples/paxos.rs";

    fn params() -> Vec<ParamSpec> {
        vec![
            int(
                "clients",
                "clients, each writing once then reading",
                1,
                3,
                2,
            ),
            int("servers", "Paxos servers", 1, 5, 3),
            ParamSpec {
                name: "inert",
                help: "drop messages that can no longer change their receiver (paxos::stale)",
                kind: ParamKind::Bool,
                default: Value::Bool(false),
            },
        ]
    }

    fn build(params: &Params, _: Option<NoVariants>) -> Self::Model {
        let model = GuardedActors::new(
            paxos::PaxosModelCfg {
                client_count: params.usize("clients"),
                server_count: params.usize("servers"),
                network: Network::new_unordered_nonduplicating([]),
            }
            .into_model(),
            None,
        );
        if params.bool("inert") {
            model.inert(paxos::stale)
        } else {
            model
        }
    }
}
