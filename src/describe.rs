//! How a model's states and steps are shown: as JSON (trace files, replay) and as events
//! (numbered steps, Mermaid lanes). Three describers cover every model: [`Actors`] for
//! stateright actor models, [`Laned`] for other models that name their processes
//! ([`Lanes`]), [`Plain`] (one `system` lane) for the rest.

use crate::protocol::guarded::{
    in_flight, Faults, FaultsUsed, GuardedAction, GuardedActors, GuardedState,
};
use crate::protocol::{LaneStep, Lanes};
use serde::Serialize;
use serde_json::{json, Value};
use stateright::actor::{Actor, ActorModelAction};
use stateright::Model;
use std::fmt::Debug;
use std::hash::Hash;

/// The kind of a step, as trace files name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A message reaches its receiver.
    Deliver,
    /// A message is lost.
    Drop,
    /// A timer fires.
    Timeout,
    /// A process crashes.
    Crash,
    /// A process recovers.
    Recover,
    /// An actor's random (or Byzantine) choice.
    Choose,
    /// A fault that is not a crash, recovery or loss: a duplicated message, a cut link or its
    /// healing, an actor turning Byzantine, a forged message.
    Fault,
    /// Anything else: a plain model's action, a local step.
    Step,
}

impl StepKind {
    /// The name trace files, pages and reports use: `deliver`, `drop`, ...
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Deliver => "deliver",
            StepKind::Drop => "drop",
            StepKind::Timeout => "timeout",
            StepKind::Crash => "crash",
            StepKind::Recover => "recover",
            StepKind::Choose => "choose",
            StepKind::Fault => "fault",
            StepKind::Step => "step",
        }
    }

    /// Whether a message moves from one lane to another (delivered or lost).
    pub fn is_message(self) -> bool {
        matches!(self, StepKind::Deliver | StepKind::Drop)
    }
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// What happened in one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Event {
    /// The kind of step.
    pub kind: StepKind,
    /// The acting (or sending) lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The receiving lane, for `deliver` and `drop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The message, for `deliver` and `drop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// The timer, the random choice, or the action of a plain model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A lane whose local state a step changed, with its new local state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Change {
    /// The lane (actor, or `system`).
    pub lane: String,
    /// Its new local state, as text.
    pub state: String,
}

/// Shows the states and steps of models of type `M`.
pub trait Describe<M: Model>: Send + Sync {
    /// The lanes (one per actor; `system` for a plain model).
    fn lanes(&self, model: &M) -> Vec<String>;
    /// The full state as JSON: equal states give the same JSON up to the order of a hash
    /// set's elements (see [`crate::runner::same_state`]). `Err` says why the state cannot be
    /// written as JSON (a map whose keys are not strings or numbers, say).
    fn state_json(&self, model: &M, state: &M::State) -> Result<Value, String>;
    /// The event of a step and the lanes it changed.
    fn event(
        &self,
        model: &M,
        before: &M::State,
        action: &M::Action,
        after: &M::State,
    ) -> (Event, Vec<Change>);
}

/// Describer of any model whose state is `Serialize` and whose actions are `Debug`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Plain;

impl<M> Describe<M> for Plain
where
    M: Model,
    M::State: Serialize,
    M::Action: Debug,
{
    fn lanes(&self, _: &M) -> Vec<String> {
        vec!["system".into()]
    }

    fn state_json(&self, _: &M, state: &M::State) -> Result<Value, String> {
        serde_json::to_value(state).map_err(|e| e.to_string())
    }

    fn event(
        &self,
        model: &M,
        before: &M::State,
        action: &M::Action,
        after: &M::State,
    ) -> (Event, Vec<Change>) {
        // Only states that serialise reach a trace (`state_json` is checked first).
        let (b, a) = (
            self.state_json(model, before).unwrap_or_default(),
            self.state_json(model, after).unwrap_or_default(),
        );
        let changes = lane_changes(&[], "system", &b, &a);
        (
            Event {
                kind: StepKind::Step,
                from: Some("system".into()),
                to: None,
                msg: None,
                detail: Some(format!("{action:?}")),
            },
            changes,
        )
    }
}

/// Describer of a model that implements [`Lanes`]: a lane per process, each step an event of
/// its process (a message between two), the state shown as by [`Plain`] and its changes on the
/// lane of the process that acted (the receiver of a delivery).
#[derive(Clone, Copy, Debug, Default)]
pub struct Laned;

impl<M> Describe<M> for Laned
where
    M: Lanes,
    M::State: Serialize,
    M::Action: Debug,
{
    fn lanes(&self, model: &M) -> Vec<String> {
        model.lanes()
    }

    fn state_json(&self, model: &M, state: &M::State) -> Result<Value, String> {
        Plain.state_json(model, state)
    }

    fn event(
        &self,
        model: &M,
        before: &M::State,
        action: &M::Action,
        after: &M::State,
    ) -> (Event, Vec<Change>) {
        let message = |kind: StepKind, from: String, to: String, msg: String| Event {
            kind,
            from: Some(from),
            to: Some(to),
            msg: Some(msg),
            detail: None,
        };
        let local = |kind: StepKind, at: String, detail: Option<String>| Event {
            kind,
            from: Some(at),
            to: None,
            msg: None,
            detail,
        };
        let event = match model.lane_step(before, action) {
            LaneStep::Deliver { from, to, msg } => message(StepKind::Deliver, from, to, msg),
            LaneStep::Drop { from, to, msg } => message(StepKind::Drop, from, to, msg),
            LaneStep::Timeout { at, detail } => local(StepKind::Timeout, at, Some(detail)),
            LaneStep::Crash { at } => local(StepKind::Crash, at, None),
            LaneStep::Recover { at } => local(StepKind::Recover, at, None),
            LaneStep::Local { at, detail } => local(StepKind::Step, at, Some(detail)),
        };
        // Each changed field on the lane its path names (`receivers.R1`, `servers.S2`), else
        // on the lane of the process that acted (the receiver of a delivery).
        let lanes = model.lanes();
        let acting = match event.kind {
            StepKind::Deliver => event.to.clone(),
            _ => event.from.clone(),
        }
        .unwrap_or_else(|| "system".into());
        let changes = lane_changes(
            &lanes,
            &acting,
            &self.state_json(model, before).unwrap_or_default(),
            &self.state_json(model, after).unwrap_or_default(),
        );
        (event, changes)
    }
}

/// The fields that differ between two states (`path = value`, see [`changed_fields`]), each
/// on the lane its path names (a segment equal to one of `lanes`: `receivers.R1`), else on
/// `acting`; one [`Change`] per lane, in order of first appearance.
fn lane_changes(lanes: &[String], acting: &str, before: &Value, after: &Value) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    for field in changed_fields("", before, after) {
        let path = field.split(' ').next().unwrap_or_default();
        let lane = path
            .split('.')
            .find(|segment| lanes.iter().any(|l| l == segment))
            .unwrap_or(acting);
        match changes.iter_mut().find(|c| c.lane == lane) {
            Some(c) => {
                c.state.push_str(", ");
                c.state.push_str(&field);
            }
            None => changes.push(Change {
                lane: lane.to_string(),
                state: field,
            }),
        }
    }
    changes
}

/// `path = value` for each field of `after` that differs from `before`, one level into nested
/// objects (`processes.P2 = {...}`), so a step shows what it changed rather than the whole state.
fn changed_fields(prefix: &str, before: &Value, after: &Value) -> Vec<String> {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) if prefix.is_empty() || !prefix.contains('.') => a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .flat_map(|(k, v)| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match (b.get(k), v) {
                    (Some(old @ Value::Object(_)), Value::Object(_)) if prefix.is_empty() => {
                        changed_fields(&path, old, v)
                    }
                    (Some(Value::Array(old)), Value::Array(new)) if is_set_like(old, new) => {
                        set_changes(&path, old, new)
                    }
                    _ => vec![format!("{path} = {v}")],
                }
            })
            .collect(),
        (b, a) if b != a => vec![format!("{prefix} = {a}")],
        _ => vec![],
    }
}

/// Two arrays of distinct elements (the sets a model serialises as lists, such as a network
/// of messages), shown as what was added and removed rather than in full.
fn is_set_like(old: &[Value], new: &[Value]) -> bool {
    let distinct = |xs: &[Value]| xs.iter().enumerate().all(|(i, x)| !xs[..i].contains(x));
    !old.is_empty() && distinct(old) && distinct(new)
}

fn set_changes(path: &str, old: &[Value], new: &[Value]) -> Vec<String> {
    let added: Vec<&Value> = new.iter().filter(|x| !old.contains(x)).collect();
    let removed: Vec<&Value> = old.iter().filter(|x| !new.contains(x)).collect();
    let mut out = vec![];
    if !added.is_empty() {
        out.push(format!("{path} += {}", json!(added)));
    }
    if !removed.is_empty() {
        out.push(format!("{path} -= {}", json!(removed)));
    }
    if out.is_empty() {
        out.push(format!("{path} = {}", json!(new))); // reordered
    }
    out
}

/// Describer of stateright actor models (as every actor protocol is built: a
/// [`GuardedActors`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Actors;

fn actor_lanes<A: Actor>(actors: &[A]) -> Vec<String> {
    let names: Vec<String> = actors.iter().map(|a| a.name()).collect();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let n = if n.is_empty() { "actor" } else { n.as_str() };
            if names.iter().filter(|m| m.as_str() == n).count() == 1 {
                n.to_string()
            } else {
                format!("{n}{i}")
            }
        })
        .collect()
}

impl<A, C, H> Describe<GuardedActors<A, C, H>> for Actors
where
    A: Actor + Send + Sync,
    A::State: Serialize,
    A::Msg: Serialize + Ord,
    A::Timer: Ord,
    A::Storage: Serialize,
    A::Random: Debug,
    C: Send + Sync,
    H: Clone + Debug + Hash + PartialEq + Serialize + Send + Sync,
{
    fn lanes(&self, model: &GuardedActors<A, C, H>) -> Vec<String> {
        actor_lanes(&model.inner.actors)
    }

    fn state_json(
        &self,
        model: &GuardedActors<A, C, H>,
        state: &GuardedState<A, H>,
    ) -> Result<Value, String> {
        let json = |v: Result<Value, serde_json::Error>| v.map_err(|e| e.to_string());
        let lanes = actor_lanes(&model.inner.actors);
        let lane = |id: stateright::actor::Id| {
            lanes
                .get(usize::from(id))
                .cloned()
                .unwrap_or_else(|| format!("{id:?}"))
        };
        let actors: Vec<Value> = state
            .actor_states
            .iter()
            .enumerate()
            .map(|(i, s)| -> Result<Value, String> {
                let mut timers: Vec<String> = state.timers_set[i]
                    .iter()
                    .map(|t| format!("{t:?}"))
                    .collect();
                timers.sort();
                let mut choices: Vec<String> = state.random_choices[i]
                    .map
                    .iter()
                    .map(|(k, v)| format!("{k}: {v:?}"))
                    .collect();
                choices.sort();
                Ok(json!({
                    "id": i,
                    "name": lanes[i],
                    "crashed": state.crashed[i],
                    "state": json(serde_json::to_value(&**s))?,
                    "storage": json(serde_json::to_value(&state.actor_storages[i]))?,
                    "timers": timers,
                    "choices": choices,
                }))
            })
            .collect::<Result<_, _>>()?;
        let mut network: Vec<(stateright::actor::Id, stateright::actor::Id, String, Value)> =
            in_flight(&state.network)
                .into_iter()
                .map(|e| {
                    let v = json(serde_json::to_value(e.msg))?;
                    Ok((e.src, e.dst, v.to_string(), v))
                })
                .collect::<Result<_, String>>()?;
        network.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
        let network: Vec<Value> = network
            .into_iter()
            .map(|(s, d, _, m)| json!({"src": lane(s), "dst": lane(d), "msg": m}))
            .collect();
        let mut out = json!({
            "actors": actors,
            "network": network,
            "history": json(serde_json::to_value(&state.history))?,
        });
        // The faults taken so far, of each kind the budget allows (`GuardedActors::faults`).
        if let Some(budget) = model.faults {
            out["faults"] = faults_json(&budget, &state.1, lane);
        }
        Ok(out)
    }

    fn event(
        &self,
        model: &GuardedActors<A, C, H>,
        before: &GuardedState<A, H>,
        action: &GuardedAction<A::Msg, A::Timer, A::Random>,
        after: &GuardedState<A, H>,
    ) -> (Event, Vec<Change>) {
        let lanes = actor_lanes(&model.inner.actors);
        let lane = |id: stateright::actor::Id| {
            lanes
                .get(usize::from(id))
                .cloned()
                .unwrap_or_else(|| format!("{id:?}"))
        };
        let event = |kind: StepKind, from: Option<String>, to, msg, detail| Event {
            kind,
            from,
            to,
            msg,
            detail,
        };
        let fault = |lane: String, detail: String| {
            event(StepKind::Fault, Some(lane), None, None, Some(detail))
        };
        let recover = |id, detail| event(StepKind::Recover, Some(lane(id)), None, None, detail);
        let event = match action {
            GuardedAction::Actor(a) => match a {
                ActorModelAction::Deliver { src, dst, msg } => event(
                    StepKind::Deliver,
                    Some(lane(*src)),
                    Some(lane(*dst)),
                    Some(format!("{msg:?}")),
                    None,
                ),
                ActorModelAction::Drop(env) => event(
                    StepKind::Drop,
                    Some(lane(env.src)),
                    Some(lane(env.dst)),
                    Some(format!("{:?}", env.msg)),
                    None,
                ),
                ActorModelAction::Timeout(id, timer) => event(
                    StepKind::Timeout,
                    Some(lane(*id)),
                    None,
                    None,
                    Some(format!("{timer:?}")),
                ),
                ActorModelAction::Crash(id) => {
                    event(StepKind::Crash, Some(lane(*id)), None, None, None)
                }
                ActorModelAction::Recover(id) => recover(*id, None),
                ActorModelAction::SelectRandom { actor, key, random } => event(
                    StepKind::Choose,
                    Some(lane(*actor)),
                    None,
                    None,
                    Some(format!("{key} = {random:?}")),
                ),
            },
            GuardedAction::Restart(id) => recover(*id, Some("after a crash, from storage".into())),
            GuardedAction::Forget(id, k) => {
                let field = model.durable.get(*k).map_or("?", |d| d.name);
                recover(
                    *id,
                    Some(format!("after a crash, from storage without {field}")),
                )
            }
            GuardedAction::Duplicate(e) => fault(
                lane(e.src),
                format!("network duplicates {:?} to {}", e.msg, lane(e.dst)),
            ),
            GuardedAction::Overtake(e) => event(
                StepKind::Deliver,
                Some(lane(e.src)),
                Some(lane(e.dst)),
                Some(format!("{:?} (out of order)", e.msg)),
                None,
            ),
            GuardedAction::Cut(a, b) => {
                fault(lane(*a), format!("link {}–{} cut", lane(*a), lane(*b)))
            }
            GuardedAction::Partition(k) => {
                let side: Vec<String> = model.sides[*k].iter().map(|&a| lane(a)).collect();
                let first = model.sides[*k].first().copied().unwrap_or(0.into());
                fault(
                    lane(first),
                    format!(
                        "the network partitions: {} cut off from the rest",
                        side.join(", ")
                    ),
                )
            }
            GuardedAction::Heal => fault(lane(0.into()), "cut links heal".into()),
            GuardedAction::Corrupt(id) => fault(lane(*id), "turns Byzantine".into()),
            GuardedAction::Forge(e) => fault(
                lane(e.src),
                format!("forges {:?} to {}", e.msg, lane(e.dst)),
            ),
        };
        (event, changes(&lanes, before, after))
    }
}

/// The actors whose state (or liveness) a step changed, with their new state: `crashed`,
/// `Byzantine`, or the state's `Debug` text.
fn changes<A: Actor, H>(
    lanes: &[String],
    before: &GuardedState<A, H>,
    after: &GuardedState<A, H>,
) -> Vec<Change> {
    (0..after.actor_states.len())
        .filter(|&i| {
            let id = stateright::actor::Id::from(i);
            before.actor_states[i] != after.actor_states[i]
                || before.crashed[i] != after.crashed[i]
                || before.1.is_corrupt(id) != after.1.is_corrupt(id)
        })
        .map(|i| Change {
            lane: lanes[i].clone(),
            state: if after.crashed[i] {
                "crashed".to_string()
            } else if after.1.is_corrupt(stateright::actor::Id::from(i)) {
                "Byzantine".to_string()
            } else {
                format!("{:?}", after.actor_states[i])
            },
        })
        .collect()
}

/// The faults a run has taken, as trace states show them: the count of each kind the budget
/// allows, the links cut now (`"A–B"`) and the Byzantine actors, by lane.
fn faults_json(
    budget: &Faults,
    used: &FaultsUsed,
    lane: impl Fn(stateright::actor::Id) -> String,
) -> Value {
    let mut out = serde_json::Map::new();
    // Byzantine actors are listed below by name rather than counted.
    let counts = Faults::COUNTS
        .iter()
        .zip(budget.counts().into_iter().zip(used.counts()))
        .filter(|((name, _), _)| *name != "byzantine");
    for ((name, _), (allowed, taken)) in counts {
        // An unbounded kind is not counted.
        if allowed > 0 && allowed != Faults::UNBOUNDED {
            out.insert((*name).into(), json!(taken));
        }
    }
    if budget.cuts > 0 {
        let cut: Vec<String> = (0..8usize)
            .flat_map(|a| (a + 1..8).map(move |b| (a, b)))
            .filter(|&(a, b)| used.is_cut(a.into(), b.into()))
            .map(|(a, b)| format!("{}–{}", lane(a.into()), lane(b.into())))
            .collect();
        out.insert("cut".into(), json!(cut));
    }
    if budget.byzantine > 0 {
        let corrupt: Vec<String> = (0..16usize)
            .filter(|&i| used.is_corrupt(i.into()))
            .map(|i| lane(i.into()))
            .collect();
        out.insert("byzantine".into(), json!(corrupt));
    }
    Value::Object(out)
}
