//! The catalog: the models a command line knows, by name, with their parameters and variants.
//! [`Catalog::builtin`] holds the protocols of `ftcheck-models`; a user's crate adds its own
//! with [`Catalog::with`] and hands the catalog to [`crate::cli::main`]. Adding a built-in
//! protocol is one line in [`Catalog::builtin`].

use crate::describe::{Actors, Describe, Plain};
use crate::error::{suggest, InputError};
use crate::protocol::{ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants};
use crate::runner::{Bound, Checkable, PropertyInfo};
use ftcheck_models::{
    byzantine_agreement::ByzantineAgreement, cap_register::CapRegister,
    checkpointing::Checkpointing, failure_detector::FailureDetector,
    flooding_consensus::FloodingConsensus, message_logging::MessageLogging, paxos::Paxos,
    pbft::Pbft, raft::Raft, reliable_multicast::ReliableMulticast, rpc_lost_reply::RpcLostReply,
    rpc_semantics::RpcSemantics, transaction_commit::TransactionCommit,
    two_phase_commit::TwoPhaseCommit, voting_group::VotingGroup,
};
use serde::Serialize;
use stateright::Model;
use std::fmt;
use std::hash::Hash;
use std::str::FromStr;

/// A parameter's value as given, before it is checked against the parameter: words from a
/// command line (`Text`), or a typed value from a suite manifest (TOML) or a recorded file
/// (JSON). [`Entry::parse_params`] turns it into the parameter's [`Value`], once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Given {
    /// Words, as on a command line: `3`, `true`, `at-most-once`.
    Text(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Given::Text(t) => f.write_str(t),
            Given::Int(i) => write!(f, "{i}"),
            Given::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<Value> for Given {
    fn from(v: Value) -> Given {
        match v {
            Value::Int(i) => Given::Int(i),
            Value::Bool(b) => Given::Bool(b),
            Value::Choice(c) => Given::Text(c.into()),
        }
    }
}

/// One parameter given a value: `NAME=VALUE` on a command line (`--param`), a key of a
/// manifest case's `params`, or an entry of a recorded file's `params`.
///
/// ```
/// use ftcheck::catalog::{Assignment, Given};
/// let a: Assignment = "participants = 3".parse().unwrap();
/// assert_eq!(a, Assignment { name: "participants".into(), value: Given::Text("3".into()) });
/// assert!("participants".parse::<Assignment>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The parameter's name.
    pub name: String,
    /// Its value.
    pub value: Given,
}

impl Assignment {
    /// `name` given `value`.
    pub fn new(name: impl Into<String>, value: impl Into<Given>) -> Assignment {
        Assignment {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl fmt::Display for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

impl FromStr for Assignment {
    type Err = String;

    /// `NAME=VALUE`, spaces around either side trimmed; the value stays words
    /// ([`Given::Text`]) until it is checked against the parameter's kind.
    fn from_str(text: &str) -> Result<Assignment, String> {
        match text.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => Ok(Assignment {
                name: name.trim().into(),
                value: Given::Text(value.trim().into()),
            }),
            _ => Err("not NAME=VALUE; write e.g. --param participants=3 (`list` shows each model's parameters)".into()),
        }
    }
}

/// The models a command line knows, in display order: a value, built from the built-in
/// protocols, a user's, or both.
///
/// ```
/// use ftcheck::catalog::Catalog;
/// let all = Catalog::builtin();
/// assert!(all.find("raft").is_ok());
/// assert!(Catalog::new().find("raft").is_err());
/// ```
#[derive(Clone, Default)]
pub struct Catalog {
    entries: Vec<Entry>,
}

impl Catalog {
    /// No models.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// The 15 protocols of `ftcheck-models`, from the fault-tolerance lecture.
    pub fn builtin() -> Catalog {
        Catalog::new()
            .with(Entry::of::<TwoPhaseCommit, Actors>())
            .with(Entry::of::<TransactionCommit, Plain>())
            .with(Entry::of::<FloodingConsensus, Plain>())
            .with(Entry::of::<Paxos, Actors>())
            .with(Entry::of::<Raft, Actors>())
            .with(Entry::of::<ByzantineAgreement, Plain>())
            .with(Entry::of::<Pbft, Plain>())
            .with(Entry::of::<VotingGroup, Plain>())
            .with(Entry::of::<RpcSemantics, Plain>())
            .with(Entry::of::<RpcLostReply, Actors>())
            .with(Entry::of::<MessageLogging, Actors>())
            .with(Entry::of::<FailureDetector, Actors>())
            .with(Entry::of::<ReliableMulticast, Actors>())
            .with(Entry::of::<CapRegister, Actors>())
            .with(Entry::of::<Checkpointing, Actors>())
    }

    /// The catalog with `entry` added after the others.
    ///
    /// # Panics
    /// If the catalog already has a model of that name (a programming error in the program
    /// that builds the catalog, found when it starts).
    pub fn with(mut self, entry: Entry) -> Catalog {
        assert!(
            self.entries.iter().all(|e| e.name != entry.name),
            "the catalog already has a model named {}",
            entry.name
        );
        self.entries.push(entry);
        self
    }

    /// Every entry, in display order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry named `name`, or an error suggesting the nearest name.
    pub fn find(&self, name: &str) -> Result<&Entry, InputError> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| InputError::UnknownModel {
                name: name.to_string(),
                suggestion: suggest(name, self.entries.iter().map(|e| e.name)),
            })
    }

    /// Finds model `name`, validates the parameters given and the variant, and builds it.
    pub fn resolve(
        &self,
        name: &str,
        params: &[Assignment],
        variant: Option<&str>,
    ) -> Result<Resolved, InputError> {
        let entry = self.find(name)?.clone();
        let params = entry.parse_params(params)?;
        let variant = entry.parse_variant(variant)?;
        let model = entry.build(&params, variant.as_deref());
        Ok(Resolved {
            entry,
            params,
            variant,
            model,
        })
    }
}

/// A model named on the command line, built: its entry, parameters and variant validated.
pub struct Resolved {
    /// The catalog entry.
    pub entry: Entry,
    /// Every parameter with its value.
    pub params: Params,
    /// The variant, if any.
    pub variant: Option<String>,
    /// The model.
    pub model: Box<dyn Checkable>,
}

/// A protocol in the catalog.
#[derive(Clone, Serialize)]
pub struct Entry {
    /// Name.
    pub name: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// The lecture section it follows.
    pub section: &'static str,
    /// The fairness its liveness properties assume, in words.
    pub fairness: &'static str,
    /// Parameters.
    pub params: Vec<ParamSpec>,
    /// Deliberately broken variants.
    pub variants: Vec<VariantSpec>,
    #[serde(skip)]
    build: fn(&Params, Option<&str>) -> Box<dyn Checkable>,
    #[serde(skip)]
    validate: fn(&Params) -> Result<(), String>,
}

fn build<P, D>(params: &Params, variant: Option<&str>) -> Box<dyn Checkable>
where
    P: Protocol,
    P::Model: Clone + Send + Sync + 'static,
    <P::Model as Model>::State: Hash + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static,
    <P::Model as Model>::Action: Clone + PartialEq + std::fmt::Debug + Hash + Send + Sync,
    D: Describe<P::Model> + Default + 'static,
{
    // The name was validated against the same list (`Entry::parse_variant`).
    let variant = variant.map(|name| P::Variant::named(name).expect("a validated variant name"));
    let model = P::build(params, variant);
    Box::new(Bound {
        reduction: P::reduction(&model),
        model,
        describe: D::default(),
        symmetry: P::symmetry(),
        fairness: P::fairness,
        leads_to: P::leads_to(),
        bounds: Some(P::bound_blocked),
    })
}

impl Entry {
    /// The entry of protocol `P`, shown by describer `D`.
    pub fn of<P, D>() -> Entry
    where
        P: Protocol,
        P::Model: Clone + Send + Sync + 'static,
        <P::Model as Model>::State:
            Hash + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static,
        <P::Model as Model>::Action: Clone + PartialEq + std::fmt::Debug + Hash + Send + Sync,
        D: Describe<P::Model> + Default + 'static,
    {
        Entry {
            name: P::NAME,
            summary: P::SUMMARY,
            section: P::SECTION,
            fairness: P::FAIRNESS,
            params: P::params(),
            variants: P::Variant::ALL
                .iter()
                .map(|(_, spec)| spec.clone())
                .collect(),
            build: build::<P, D>,
            validate: P::validate,
        }
    }

    /// Checks the parameters given against the entry's, each once; the others get their
    /// defaults. Then the protocol's own check that the values fit together.
    ///
    /// ```
    /// use ftcheck::catalog::{Assignment, Catalog};
    /// use ftcheck::protocol::Value;
    /// let entry = Catalog::builtin().find("two-phase-commit").unwrap().clone();
    /// let params = entry.parse_params(&[Assignment::new("participants", Value::Int(3))]).unwrap();
    /// assert_eq!(params.usize("participants"), 3);
    /// assert!(entry.parse_params(&["participants=x".parse().unwrap()]).is_err());
    /// ```
    pub fn parse_params(&self, given: &[Assignment]) -> Result<Params, InputError> {
        let mut params = Params(
            self.params
                .iter()
                .map(|p| (p.name.to_string(), p.default))
                .collect(),
        );
        let mut seen: Vec<&str> = Vec::new();
        for g in given {
            let spec = self.param(&g.name)?;
            if seen.contains(&spec.name) {
                return Err(InputError::Usage(format!(
                    "parameter {} of '{}' is given twice ({g} after another value); give each --param once",
                    g.name, self.name
                )));
            }
            seen.push(spec.name);
            params.0.insert(
                spec.name.to_string(),
                parse_value(self.name, spec, &g.value)?,
            );
        }
        (self.validate)(&params).map_err(|problem| InputError::Inconsistent {
            model: self.name.into(),
            problem,
        })?;
        Ok(params)
    }

    /// The parameter `name`, or an error suggesting the nearest one.
    pub fn param(&self, name: &str) -> Result<&ParamSpec, InputError> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| InputError::UnknownParam {
                model: self.name.into(),
                name: name.into(),
                suggestion: suggest(name, self.params.iter().map(|p| p.name)),
                known: self.param_list(),
            })
    }

    /// Validates a variant name.
    pub fn parse_variant(&self, given: Option<&str>) -> Result<Option<String>, InputError> {
        let Some(v) = given else { return Ok(None) };
        if self.variants.iter().any(|s| s.name == v) {
            return Ok(Some(v.to_string()));
        }
        Err(InputError::UnknownVariant {
            model: self.name.into(),
            name: v.into(),
            suggestion: suggest(v, self.variants.iter().map(|s| s.name)),
            known: if self.variants.is_empty() {
                "none".into()
            } else {
                self.variants
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
    }

    fn param_list(&self) -> String {
        if self.params.is_empty() {
            return "none".into();
        }
        self.params
            .iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Builds the model.
    pub fn build(&self, params: &Params, variant: Option<&str>) -> Box<dyn Checkable> {
        (self.build)(params, variant)
    }

    /// The properties of the model with default parameters.
    pub fn properties(&self) -> Vec<PropertyInfo> {
        let defaults = self.parse_params(&[]).expect("defaults are valid");
        self.build(&defaults, None).properties()
    }

    /// A description for `list --format json`: the entry, its properties, and whether
    /// `--symmetry` applies.
    pub fn info(&self) -> EntryInfo<'_> {
        let defaults = self.parse_params(&[]).expect("defaults are valid");
        let model = self.build(&defaults, None);
        EntryInfo {
            entry: self,
            properties: model.properties(),
            symmetry: model.has_symmetry(),
            por: model.has_reduction(),
        }
    }
}

/// `1..=8`, `true|false` or `halting|arbitrary`.
pub fn range_text(kind: &ParamKind) -> String {
    match kind {
        ParamKind::Int { min, max } => format!("{min}..={max}"),
        ParamKind::Bool => "true|false".into(),
        ParamKind::Choice { options } => options.join("|"),
    }
}

/// The value `given` as the parameter `spec` takes it: words are parsed by its kind, a typed
/// value must be of its kind; integers must be in range, names among the choices.
fn parse_value(model: &str, spec: &ParamSpec, given: &Given) -> Result<Value, InputError> {
    let bad = |problem: String| InputError::BadValue {
        model: model.into(),
        name: spec.name.into(),
        value: given.to_string(),
        problem,
    };
    match (spec.kind, given) {
        (ParamKind::Int { min, max }, _) => {
            let v: i64 = match given {
                Given::Int(i) => Some(*i),
                Given::Text(t) => t.parse().ok(),
                Given::Bool(_) => None,
            }
            .ok_or_else(|| bad(format!("expected an integer in {min}..={max}")))?;
            if v < min || v > max {
                return Err(bad(format!("out of range; allowed {min}..={max}")));
            }
            Ok(Value::Int(v))
        }
        (ParamKind::Bool, Given::Bool(b)) => Ok(Value::Bool(*b)),
        (ParamKind::Bool, Given::Text(t)) if matches!(t.as_str(), "true" | "yes" | "1") => {
            Ok(Value::Bool(true))
        }
        (ParamKind::Bool, Given::Text(t)) if matches!(t.as_str(), "false" | "no" | "0") => {
            Ok(Value::Bool(false))
        }
        (ParamKind::Bool, _) => Err(bad("expected true or false".into())),
        (ParamKind::Choice { options }, Given::Text(t)) => {
            match options.iter().find(|&&o| o == t) {
                Some(o) => Ok(Value::Choice(o)),
                None => Err(bad(format!(
                    "expected one of {}{}",
                    options.join(", "),
                    suggest(t, options.iter().copied())
                ))),
            }
        }
        (ParamKind::Choice { options }, _) => {
            Err(bad(format!("expected one of {}", options.join(", "))))
        }
    }
}

/// `list --format json`: one model.
#[derive(Serialize)]
pub struct EntryInfo<'a> {
    /// Name, summary, section, parameters, variants.
    #[serde(flatten)]
    pub entry: &'a Entry,
    /// Properties with kinds.
    pub properties: Vec<PropertyInfo>,
    /// Whether `--symmetry` applies.
    pub symmetry: bool,
    /// Whether `--por` applies (the model declares a partial-order reduction).
    pub por: bool,
}
