//! States of the durable follow-up queue (effects carried out after a committed state change).

crate::cloudstack_enum! {
    /// Where a follow-up stands. `Pending` runs when due; `WaitingHost` waits for the host its
    /// effect needs to connect (not a failed attempt); `Stuck` failed its bound of attempts and
    /// waits for an operator (`retryFollowUp`); `Done` is finished (or resolved with a note).
    pub enum FollowUpState {
        Pending => "Pending",
        WaitingHost => "WaitingHost",
        Stuck => "Stuck",
        Done => "Done",
    }
}
