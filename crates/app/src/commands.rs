//! Commands to the gate agents, on channels the application owns: an operator's approval
//! (from any front door) reaches the agent of the referred gate through the command stream
//! that agent opened (gRPC `GateCommands`).

use std::collections::HashMap;
use std::sync::Mutex;

use bawaba_domain::ids::{GateId, LaneId, PassageId};
use tokio::sync::broadcast;

/// What a gate agent is told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateCommand {
    /// Open the barrier of `lane` once: the referred passage `event_id` was approved.
    PulseBarrier { lane: LaneId, event_id: PassageId },
}

/// The command channels of the connected gate agents, one per gate.
#[derive(Debug, Default)]
pub struct Commands {
    gates: Mutex<HashMap<GateId, broadcast::Sender<GateCommand>>>,
}

impl Commands {
    fn sender(&self, gate: &GateId) -> broadcast::Sender<GateCommand> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates
            .entry(gate.clone())
            .or_insert_with(|| broadcast::channel(64).0)
            .clone()
    }

    /// Sends a command to a gate; whether an agent of that gate was listening.
    pub fn send(&self, gate: &GateId, command: GateCommand) -> bool {
        self.sender(gate).send(command).is_ok()
    }

    /// The commands for `gate` from now on. Callers check the gate is in the caller's scope
    /// first ([`crate::App::gate_commands`]).
    pub(crate) fn subscribe(&self, gate: &GateId) -> broadcast::Receiver<GateCommand> {
        self.sender(gate).subscribe()
    }
}
