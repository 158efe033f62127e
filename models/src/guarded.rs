//! [`GuardedActors`]: a stateright actor model whose timeouts fire only when a guard allows.
//!
//! stateright fires every set timer at any moment: full asynchrony, where a timeout says nothing
//! about the system. That is the right model for safety under false suspicion, but it multiplies
//! the state space by every premature timeout. A guard restricts a timer to the states where the
//! awaited event can no longer happen without a failure (its sender crashed, its message was
//! lost): the bounded-delay, accurate-timeout model of the lecture's "Failure Detection". Each
//! protocol chooses (and documents) its guards; a parameter can switch them off to explore full
//! asynchrony.

use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Id};
use stateright::{Model, Property, Rewrite, RewritePlan};
use std::fmt::Debug;
use std::hash::Hash;

/// May actor `Id`'s `Timer` fire in this state?
pub type TimerGuard<A, C, H> = fn(&C, &ActorModelState<A, H>, Id, &<A as Actor>::Timer) -> bool;

/// What a crash leaves of an actor's volatile state.
pub type Wipe<A> = fn(&<A as Actor>::State) -> <A as Actor>::State;

/// An actor model with guarded timeouts and its own properties.
pub struct GuardedActors<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
{
    /// The actor model (actors, network, crashes, boundary).
    pub inner: ActorModel<A, C, H>,
    /// The timeout guard; `None` lets every timer fire at any time.
    pub guard: Option<TimerGuard<A, C, H>>,
    /// What a crash leaves of an actor's volatile state. stateright keeps a crashed actor's
    /// last state until it recovers (when `on_start` rebuilds it from storage alone), so states
    /// that differ only in the memory of a crashed actor are distinct; mapping that memory to a
    /// canonical value merges them. `None` keeps stateright's behaviour.
    pub on_crash: Option<Wipe<A>>,
    /// The properties, over this model.
    pub properties: Vec<Property<Self>>,
}

impl<A, C, H> Clone for GuardedActors<A, C, H>
where
    A: Actor + Clone,
    A::Msg: Ord,
    A::Timer: Ord,
    C: Clone,
    H: Clone + Debug + Hash,
{
    fn clone(&self) -> Self {
        GuardedActors {
            inner: self.inner.clone(),
            guard: self.guard,
            on_crash: self.on_crash,
            properties: self.properties.clone(),
        }
    }
}

impl<A, C, H> GuardedActors<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
{
    /// Wraps an actor model.
    pub fn new(inner: ActorModel<A, C, H>, guard: Option<TimerGuard<A, C, H>>) -> Self {
        GuardedActors {
            inner,
            guard,
            on_crash: None,
            properties: Vec::new(),
        }
    }

    /// Sets what a crash leaves of an actor's volatile state (see [`GuardedActors::on_crash`]).
    pub fn on_crash(mut self, wipe: Wipe<A>) -> Self {
        self.on_crash = Some(wipe);
        self
    }

    /// Adds a property.
    pub fn property(
        mut self,
        expectation: stateright::Expectation,
        name: &'static str,
        condition: fn(&Self, &ActorModelState<A, H>) -> bool,
    ) -> Self {
        assert!(
            self.properties.iter().all(|p| p.name != name),
            "duplicate property name {name}"
        );
        self.properties.push(Property {
            expectation,
            name,
            condition,
        });
        self
    }
}

impl<A, C, H> Model for GuardedActors<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
{
    type State = ActorModelState<A, H>;
    type Action = ActorModelAction<A::Msg, A::Timer, A::Random>;

    fn init_states(&self) -> Vec<Self::State> {
        self.inner.init_states()
    }

    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>) {
        self.inner.actions(state, actions);
        if let Some(guard) = self.guard {
            actions.retain(|a| match a {
                ActorModelAction::Timeout(id, timer) => guard(&self.inner.cfg, state, *id, timer),
                _ => true,
            });
        }
    }

    fn next_state(&self, last: &Self::State, action: Self::Action) -> Option<Self::State> {
        let crashed = match (&action, self.on_crash) {
            (ActorModelAction::Crash(id), Some(wipe)) => Some((usize::from(*id), wipe)),
            _ => None,
        };
        let mut next = self.inner.next_state(last, action)?;
        if let Some((i, wipe)) = crashed {
            next.actor_states[i] = std::sync::Arc::new(wipe(&next.actor_states[i]));
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties.clone()
    }

    fn within_boundary(&self, state: &Self::State) -> bool {
        Model::within_boundary(&self.inner, state)
    }
}

/// The state with its actors permuted so that their `key`s are sorted: every per-actor vector
/// is reindexed and every actor id inside states, messages, storage and history rewritten, as
/// stateright's own `Representative` does, but ordered by a key the protocol chooses. A key
/// that sees an actor's whole local view (state, storage, timers, pending choices, messages in
/// flight) makes more states of one orbit meet at the same representative than sorting by the
/// actor state alone; actors whose keys are equal are left in place (still sound: every
/// representative is a permutation of the state).
pub fn sorted_by_key<A, H, K: Ord>(
    state: &ActorModelState<A, H>,
    key: impl Fn(usize) -> K,
) -> ActorModelState<A, H>
where
    A: Actor,
    A::Msg: Rewrite<Id>,
    A::State: Rewrite<Id>,
    A::Random: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    H: Rewrite<Id> + Clone + Debug + Hash,
{
    let keys: Vec<K> = (0..state.actor_states.len()).map(key).collect();
    let plan = RewritePlan::<Id, _>::from_values_to_sort(&keys);
    ActorModelState {
        actor_states: plan.reindex(&state.actor_states),
        network: state.network.rewrite(&plan),
        timers_set: plan.reindex(&state.timers_set),
        random_choices: plan.reindex(&state.random_choices),
        crashed: plan.reindex(&state.crashed),
        actor_storages: plan.reindex(&state.actor_storages),
        history: state.history.rewrite(&plan),
    }
}
