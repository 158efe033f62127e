//! Protocols ftcheck did not write, checked with its command line: stateright's own examples
//! of two-phase commit (a plain `Model`), a single-copy register (an `ActorModel`, not
//! linearizable with two servers) and the ABD register (an `ActorModel`, linearizable).
//!
//! Each is a [`Protocol`]: a name, parameters, and a `build` that returns the model exactly as
//! its authors wrote it, with its own properties. [`catalog`] adds them to ftcheck's built-in
//! protocols, and `src/main.rs` hands that catalog to [`ftcheck::cli::main`].

pub mod abd_register;
pub mod single_copy_register;
pub mod two_phase_commit;

use ftcheck::catalog::Catalog;
use ftcheck::describe::Plain;
use ftcheck::protocol::guarded::Guarded;
use ftcheck::protocol::{NoVariants, ParamKind, ParamSpec, Params, Protocol, Value};
use stateright::actor::register::RegisterActor;
use stateright::actor::{ActorModel, Id, Network};
use stateright::semantics::register::Register;
use stateright::semantics::LinearizabilityTester;
use stateright::Representative;

/// ftcheck's built-in protocols and this crate's three.
pub fn catalog() -> Catalog {
    Catalog::builtin()
        .with(ftcheck::catalog::Entry::of::<TwoPhase, Plain>())
        .with(ftcheck::catalog::Entry::of::<
            Guarded<SingleCopy>,
            ftcheck::describe::Actors,
        >())
        .with(ftcheck::catalog::Entry::of::<
            Guarded<Abd>,
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
