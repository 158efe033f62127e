//! `rpc-semantics`: why fully transparent server recovery is impossible.
//!
//! Lecture section: "RPC Semantics in the Presence of Failures" (server crash, the print-server
//! example and its table).
//!
//! How it maps the lecture: a client has asked a server to process a document. The server's
//! events are M (send the completion message, which the client receives as its
//! acknowledgement) and P (complete the processing), in the order of its strategy, `M-then-P`
//! or `P-then-M`; it crashes (C) at some point — before both, between them, or after both — and
//! on recovery announces it to its clients. The client, not knowing which happened, follows
//! its reissue strategy: `always`, `never`, `only-when-acked` (it got M) or
//! `only-when-not-acked`; a reissued request is processed and answered (no second crash). The
//! outcome is how often the document was processed: `OK` (once), `DUP` (twice), `ZERO` (never),
//! each a reachability property.
//!
//! `ordering` fixes where the crash falls, named as the lecture names the six orderings (`MPC`,
//! `MC(P)`, `C(MP)` for `M-then-P`; `PMC`, `PC(M)`, `C(PM)` for `P-then-M`: events in brackets
//! never take place), or `any` (every crash point explored). `ftcheck table rpc-semantics --rows
//! client --cols server,ordering` checks every combination exhaustively and prints which
//! outcomes are reachable: the lecture's table, computed. No strategy pair is `OK` alone in
//! every ordering (the `any` column).
//!
//! Why a plain model and not a stateright actor system (issue 19): its steps are the lecture's
//! events (the completion message `M`, the processing `P`, the crash `C`) placed in a named
//! ordering, so that `ftcheck table` computes the lecture's table row by row; the messages
//! themselves are [`rpc_lost_reply`](crate::rpc_lost_reply)'s subject.

use ftcheck_protocol::{NoVariants, ParamKind, ParamSpec, Params, Protocol, Value};
use serde::Serialize;
use stateright::{Model, Property};
use std::fmt;

/// The server's strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// Send the completion message, then process.
    MThenP,
    /// Process, then send the completion message.
    PThenM,
}

/// The client's reissue strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// Always reissue.
    Always,
    /// Never reissue.
    Never,
    /// Reissue only if the completion message arrived.
    OnlyWhenAcked,
    /// Reissue only if it did not.
    OnlyWhenNotAcked,
}

/// The orderings, by name, with how many server events precede the crash.
const ORDERINGS: [(&str, Server, u8); 6] = [
    ("MPC", Server::MThenP, 2),
    ("MC(P)", Server::MThenP, 1),
    ("C(MP)", Server::MThenP, 0),
    ("PMC", Server::PThenM, 2),
    ("PC(M)", Server::PThenM, 1),
    ("C(PM)", Server::PThenM, 0),
];

/// A state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct RpcState {
    /// Server events done before the crash (0, 1 or 2).
    pub events: u8,
    /// The client received the completion message.
    pub acked: bool,
    /// The ordering, once the server crashed (`MC(P)`).
    pub ordering: Option<&'static str>,
    /// The server recovered and announced it.
    pub recovered: bool,
    /// The client reissued the request.
    pub reissued: bool,
    /// Times the document was processed.
    pub processed: u8,
    /// The client is done.
    pub done: bool,
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The server sends the completion message (M).
    SendCompletion,
    /// The server processes the document (P).
    Process,
    /// The server crashes (C).
    Crash,
    /// The server recovers and announces it.
    Recover,
    /// The client's strategy says reissue.
    Reissue,
    /// The client's strategy says do not reissue.
    GiveUp,
    /// The server processes the reissued request and answers.
    ServeReissue,
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::SendCompletion => "server sends the completion message (M)",
            Action::Process => "server processes the document (P)",
            Action::Crash => "server crashes (C)",
            Action::Recover => "server recovers and announces it to the client",
            Action::Reissue => "client reissues the request (its strategy says so)",
            Action::GiveUp => "client does not reissue (its strategy says so)",
            Action::ServeReissue => "server processes the reissued request and answers",
        })
    }
}

/// The model.
#[derive(Clone, Debug)]
pub struct RpcSemantics {
    /// Server strategy.
    pub server: Server,
    /// Client strategy.
    pub client: Client,
    /// Events before the crash, or `None` for any crash point.
    pub crash_after: Option<u8>,
}

impl RpcSemantics {
    /// The server's next event of its first incarnation, if any.
    fn next_event(&self, s: &RpcState) -> Option<Action> {
        let order = match self.server {
            Server::MThenP => [Action::SendCompletion, Action::Process],
            Server::PThenM => [Action::Process, Action::SendCompletion],
        };
        order.get(s.events as usize).copied()
    }

    fn ordering(&self, events: u8) -> &'static str {
        ORDERINGS
            .iter()
            .find(|(_, server, e)| *server == self.server && *e == events)
            .map(|(name, _, _)| *name)
            .expect("every crash point has a name")
    }

    fn reissues(&self, acked: bool) -> bool {
        match self.client {
            Client::Always => true,
            Client::Never => false,
            Client::OnlyWhenAcked => acked,
            Client::OnlyWhenNotAcked => !acked,
        }
    }
}

impl Model for RpcSemantics {
    type State = RpcState;
    type Action = Action;

    fn init_states(&self) -> Vec<RpcState> {
        vec![RpcState {
            events: 0,
            acked: false,
            ordering: None,
            recovered: false,
            reissued: false,
            processed: 0,
            done: false,
        }]
    }

    fn actions(&self, s: &RpcState, actions: &mut Vec<Action>) {
        if s.ordering.is_none() {
            let may_crash = self.crash_after.is_none_or(|e| e == s.events);
            if self.crash_after.is_none_or(|e| s.events < e) {
                actions.extend(self.next_event(s));
            }
            if may_crash {
                actions.push(Action::Crash);
            }
        } else if !s.recovered {
            actions.push(Action::Recover);
        } else if !s.done {
            actions.push(if s.reissued {
                Action::ServeReissue
            } else if self.reissues(s.acked) {
                Action::Reissue
            } else {
                Action::GiveUp
            });
        }
    }

    fn next_state(&self, s: &RpcState, action: Action) -> Option<RpcState> {
        let mut next = s.clone();
        match action {
            Action::SendCompletion => {
                next.events += 1;
                next.acked = true;
            }
            Action::Process => {
                next.events += 1;
                next.processed += 1;
            }
            Action::Crash => next.ordering = Some(self.ordering(s.events)),
            Action::Recover => next.recovered = true,
            Action::Reissue => next.reissued = true,
            Action::GiveUp => next.done = true,
            Action::ServeReissue => {
                next.processed += 1;
                next.done = true;
            }
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::sometimes("OK", |_: &Self, s: &RpcState| s.done && s.processed == 1),
            Property::sometimes("DUP", |_: &Self, s: &RpcState| s.done && s.processed == 2),
            Property::sometimes("ZERO", |_: &Self, s: &RpcState| s.done && s.processed == 0),
        ]
    }
}

impl Protocol for RpcSemantics {
    type Model = RpcSemantics;
    type Variant = NoVariants;
    const NAME: &'static str = "rpc-semantics";
    const SUMMARY: &'static str =
        "the print server that crashes: which reissue strategy gives OK, DUP or ZERO (the lecture's table)";
    const SECTION: &'static str = "RPC Semantics in the Presence of Failures: Server Crash";

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "server",
                help: "the server's order of events: completion message then processing, or \
                       the reverse",
                kind: ParamKind::Choice {
                    options: &["M-then-P", "P-then-M"],
                },
                default: Value::Choice("M-then-P"),
            },
            ParamSpec {
                name: "client",
                help: "the client's reissue strategy after the server announces its recovery",
                kind: ParamKind::Choice {
                    options: &["always", "never", "only-when-acked", "only-when-not-acked"],
                },
                default: Value::Choice("only-when-acked"),
            },
            ParamSpec {
                name: "ordering",
                help: "where the crash falls among the server's events (the lecture's six \
                       orderings, three per server strategy), or any",
                kind: ParamKind::Choice {
                    options: &["MPC", "MC(P)", "C(MP)", "PMC", "PC(M)", "C(PM)", "any"],
                },
                default: Value::Choice("any"),
            },
        ]
    }

    fn validate(params: &Params) -> Result<(), String> {
        let server = params.choice("server");
        let ordering = params.choice("ordering");
        match ORDERINGS.iter().find(|(name, _, _)| *name == ordering) {
            Some((_, s, _)) if *s != server_of(server) => Err(format!(
                "ordering={ordering} is an ordering of the other server strategy; with \
                 server={server} use {}",
                ORDERINGS
                    .iter()
                    .filter(|(_, s, _)| *s == server_of(server))
                    .map(|(n, _, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Ok(()),
        }
    }

    fn build(params: &Params, _variant: Option<NoVariants>) -> RpcSemantics {
        RpcSemantics {
            server: server_of(params.choice("server")),
            client: match params.choice("client") {
                "always" => Client::Always,
                "never" => Client::Never,
                "only-when-acked" => Client::OnlyWhenAcked,
                _ => Client::OnlyWhenNotAcked,
            },
            crash_after: ORDERINGS
                .iter()
                .find(|(name, _, _)| *name == params.choice("ordering"))
                .map(|(_, _, e)| *e),
        }
    }
}

fn server_of(name: &str) -> Server {
    if name == "P-then-M" {
        Server::PThenM
    } else {
        Server::MThenP
    }
}
