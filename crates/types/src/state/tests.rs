use super::*;
use std::collections::BTreeMap;

/// Parse an expected table written as `From: Event>To Event>To …` (a state may span several
/// lines) and compare it with `next` over every `(state, event)` pair.
fn check_table<S>(table: &str, parse_s: fn(&str) -> Option<S>, parse_e: fn(&str) -> Option<S::Event>)
where
    S: StateMachine + Ord,
    S::Event: Ord,
{
    let mut expected = BTreeMap::new();
    for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (from, rest) = line.split_once(':').expect("line has From:");
        let from = parse_s(from).unwrap_or_else(|| panic!("bad state {from}"));
        for tok in rest.split_whitespace() {
            let (ev, to) = tok.split_once('>').expect("token is Event>To");
            let ev = parse_e(ev).unwrap_or_else(|| panic!("bad event {ev}"));
            let to = parse_s(to).unwrap_or_else(|| panic!("bad state {to}"));
            assert!(expected.insert((from, ev), to).is_none(), "duplicate {from}/{ev}");
        }
    }
    let mut checked = 0;
    for &s in S::STATES {
        for &e in S::EVENTS {
            let want = expected.get(&(s, e)).copied();
            assert_eq!(s.next(e), want, "{} {s} + {e}", S::NOUN);
            match want {
                Some(to) => assert_eq!(s.transition(e), Ok(to)),
                None => {
                    let err = s.transition(e).expect_err("refused");
                    assert!(matches!(err.http_status(), 431 | 432), "{err:?}");
                    let msg = err.to_string();
                    assert!(msg.contains(&s.to_string()) && msg.contains(&e.to_string()), "{msg}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, S::STATES.len() * S::EVENTS.len());
}

const VM_TABLE: &str = "
    Stopped: StartRequested>Starting DestroyRequested>Destroyed StopRequested>Stopped AgentReportStopped>Stopped
    Stopped: OperationFailedToError>Error OperationFailed>Stopped ExpungeOperation>Expunging
    Stopped: AgentReportShutdowned>Stopped StorageMigrationRequested>Migrating FollowAgentPowerOnReport>Running
    Stopped: FollowAgentPowerOffReport>Stopped
    Starting: OperationRetry>Starting OperationSucceeded>Running OperationFailed>Stopped AgentReportRunning>Running
    Starting: AgentReportStopped>Stopped AgentReportShutdowned>Stopped FollowAgentPowerOnReport>Running
    Starting: FollowAgentPowerOffReport>Stopped
    Destroyed: RecoveryRequested>Stopped ExpungeOperation>Expunging
    Running: MigrationRequested>Migrating AgentReportRunning>Running AgentReportStopped>Stopped
    Running: StopRequested>Stopping AgentReportShutdowned>Stopped AgentReportMigrated>Running
    Running: OperationSucceeded>Running FollowAgentPowerOnReport>Running FollowAgentPowerOffReport>Stopped
    Migrating: MigrationRequested>Migrating OperationSucceeded>Running OperationFailed>Running
    Migrating: AgentReportRunning>Running AgentReportStopped>Stopped AgentReportShutdowned>Stopped
    Migrating: FollowAgentPowerOnReport>Running FollowAgentPowerOffReport>Stopped
    Stopping: OperationSucceeded>Stopped OperationFailed>Running AgentReportRunning>Running
    Stopping: AgentReportStopped>Stopped StopRequested>Stopping AgentReportShutdowned>Stopped
    Stopping: FollowAgentPowerOnReport>Running FollowAgentPowerOffReport>Stopped
    Expunging: OperationFailed>Expunging ExpungeOperation>Expunging
    Error: DestroyRequested>Expunging ExpungeOperation>Expunging
    Starting: ExpungeOperation>Expunging
    Running: ExpungeOperation>Expunging
    Stopping: ExpungeOperation>Expunging
    Migrating: ExpungeOperation>Expunging
    Unknown: ExpungeOperation>Expunging StopRequested>Stopping AgentReportRunning>Running
    Unknown: FollowAgentPowerOnReport>Running AgentReportStopped>Stopped AgentReportShutdowned>Stopped
    Unknown: FollowAgentPowerOffReport>Stopped
    Shutdown: ExpungeOperation>Expunging StopRequested>Stopping AgentReportRunning>Running
    Shutdown: FollowAgentPowerOnReport>Running AgentReportStopped>Stopped AgentReportShutdowned>Stopped
    Shutdown: FollowAgentPowerOffReport>Stopped
";

const NETWORK_TABLE: &str = "
    Allocated: ImplementNetwork>Implementing DestroyNetwork>Destroy
    Implementing: OperationSucceeded>Implemented OperationFailed>Shutdown
    Implemented: DestroyNetwork>Shutdown
    Shutdown: OperationSucceeded>Allocated OperationFailed>Shutdown
    Setup: DestroyNetwork>Destroy
";

const HOST_TABLE: &str = "
    Creating: AgentConnected>Connecting Error>Error
    Connecting: AgentConnected>Connecting Ready>Up PingTimeout>Alert ShutdownRequested>Disconnected HostDown>Down
    Connecting: Ping>Connecting ManagementServerDown>Disconnected AgentDisconnected>Alert
    Up: PingTimeout>Alert AgentDisconnected>Alert ShutdownRequested>Disconnected HostDown>Down Ping>Up
    Up: AgentConnected>Connecting ManagementServerDown>Disconnected StartAgentRebalance>Rebalancing Remove>Removed
    Disconnected: ShutdownRequested>Disconnected PingTimeout>Alert AgentConnected>Connecting Ping>Up HostDown>Down
    Disconnected: ManagementServerDown>Disconnected WaitedTooLong>Alert Remove>Removed
    Disconnected: AgentDisconnected>Disconnected
    Down: AgentConnected>Connecting Remove>Removed ManagementServerDown>Down AgentDisconnected>Down
    Down: PingTimeout>Down HostDown>Down
    Alert: AgentConnected>Connecting Ping>Up Remove>Removed ManagementServerDown>Alert AgentDisconnected>Alert
    Alert: ShutdownRequested>Disconnected HostDown>Down
    Rebalancing: RebalanceFailed>Disconnected RebalanceCompleted>Connecting ManagementServerDown>Disconnected
    Rebalancing: AgentConnected>Connecting AgentDisconnected>Rebalancing
    Error: AgentConnected>Connecting
";

const RESOURCE_TABLE: &str = "
    Creating: InternalCreated>Enabled Error>Error
    Enabled: Enable>Enabled InternalCreated>Enabled Disable>Disabled AdminAskMaintenance>PrepareForMaintenance
    Enabled: DeclareHostDegraded>Degraded InternalEnterMaintenance>Maintenance
    Disabled: Enable>Enabled Disable>Disabled InternalCreated>Disabled DeclareHostDegraded>Degraded
    Disabled: DeleteHost>Disabled
    PrepareForMaintenance: InternalEnterMaintenance>Maintenance AdminCancelMaintenance>Enabled
    PrepareForMaintenance: UnableToMigrate>ErrorInPrepareForMaintenance UnableToMaintain>ErrorInMaintenance
    PrepareForMaintenance: InternalCreated>PrepareForMaintenance
    Maintenance: AdminCancelMaintenance>Enabled InternalCreated>Maintenance DeleteHost>Disabled
    Maintenance: DeclareHostDegraded>Degraded
    ErrorInPrepareForMaintenance: InternalCreated>ErrorInPrepareForMaintenance Disable>Disabled DeleteHost>Disabled
    ErrorInPrepareForMaintenance: InternalEnterMaintenance>Maintenance AdminCancelMaintenance>Enabled
    ErrorInPrepareForMaintenance: UnableToMigrate>ErrorInPrepareForMaintenance UnableToMaintain>ErrorInMaintenance
    ErrorInPrepareForMaintenance: ErrorsCorrected>PrepareForMaintenance
    ErrorInMaintenance: InternalCreated>ErrorInMaintenance AdminAskMaintenance>PrepareForMaintenance
    ErrorInMaintenance: Disable>Disabled DeleteHost>Disabled AdminCancelMaintenance>Enabled
    Error: InternalCreated>Error
    Degraded: DeleteHost>Disabled EnableDegradedHost>Enabled AdminAskMaintenance>Maintenance
";

#[test]
fn vm_table_covers_every_pair() {
    check_table::<VmState>(VM_TABLE, VmState::parse, VmEvent::parse);
}

#[test]
fn network_table_covers_every_pair() {
    check_table::<NetworkState>(NETWORK_TABLE, NetworkState::parse, NetworkEvent::parse);
}

#[test]
fn host_status_table_covers_every_pair() {
    check_table::<HostStatus>(HOST_TABLE, HostStatus::parse, HostEvent::parse);
}

#[test]
fn resource_state_table_covers_every_pair() {
    check_table::<ResourceState>(RESOURCE_TABLE, ResourceState::parse, ResourceEvent::parse);
}

#[test]
fn enums_round_trip_cloudstack_spelling() {
    assert_eq!(VmState::ALL.len(), 10);
    assert_eq!(VmEvent::ALL.len(), 23);
    assert_eq!(HostEvent::ALL.len(), 15);
    assert_eq!(ResourceEvent::ALL.len(), 15);
    for s in VmState::ALL {
        assert_eq!(VmState::parse(s.as_str()), Some(*s));
        assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
    }
    assert_eq!(VmState::parse("running"), Some(VmState::Running));
    assert_eq!(
        serde_json::from_str::<VmState>("\"Expunging\"").unwrap(),
        VmState::Expunging
    );
    assert!(serde_json::from_str::<VmState>("\"Restoring\"").is_err());
    assert_eq!(
        ResourceState::parse("PrepareForMaintenance"),
        Some(ResourceState::PrepareForMaintenance)
    );
    let err = VmState::parse_param("state", "Bogus").unwrap_err();
    assert_eq!(err.http_status(), 431);
    assert!(err.to_string().contains("Starting, Running"), "{err}");
}

#[test]
fn refusals_are_operator_readable() {
    let e = transition(VmState::Destroyed, VmEvent::StopRequested).unwrap_err();
    assert_eq!(e.http_status(), 431);
    assert_eq!(
        e.to_string(),
        "Unable to stop VM in state Destroyed (event StopRequested): the VM must be Running, Stopping, Stopped, Unknown or Shutdown"
    );
    let e = transition_as("router", VmState::Running, VmEvent::StartRequested).unwrap_err();
    assert!(
        e.to_string().starts_with("Unable to start router in state Running"),
        "{e}"
    );
    // Events no state accepts are unsupported (432), not a parameter error.
    let e = transition(VmState::Stopped, VmEvent::RestoringRequested).unwrap_err();
    assert_eq!(e.http_status(), 432);
    assert!(e.to_string().contains("restore from backup"), "{e}");
    let e = transition(VmState::Destroyed, VmEvent::AgentReportRunning).unwrap_err();
    assert!(e.to_string().contains("accepted only in state"), "{e}");
    let e = resource_state_transition(ResourceState::Enabled, ResourceEvent::DeleteHost).unwrap_err();
    assert!(e.to_string().contains("Unable to delete host in state Enabled"), "{e}");
    assert!(e.to_string().contains("Maintenance"), "{e}");
    let e = network_transition(NetworkState::Destroy, NetworkEvent::ImplementNetwork).unwrap_err();
    assert!(e.to_string().contains("the network must be Allocated"), "{e}");
}

#[test]
fn vm_helpers() {
    let transitional: Vec<_> = VmState::ALL.iter().filter(|s| s.is_transitional()).collect();
    assert_eq!(
        transitional,
        [
            &VmState::Starting,
            &VmState::Stopping,
            &VmState::Expunging,
            &VmState::Migrating
        ]
    );
    let final_states: Vec<_> = VmState::ALL.iter().filter(|s| s.is_final()).collect();
    assert_eq!(
        final_states,
        [&VmState::Destroyed, &VmState::Expunging, &VmState::Error]
    );
    // From a final state the only way back to service is recovering a Destroyed VM.
    for &s in VmState::ALL.iter().filter(|s| s.is_final()) {
        for &e in VmEvent::ALL {
            if let Some(to) = s.next(e) {
                assert!(to.is_final() || (s, e) == (VmState::Destroyed, VmEvent::RecoveryRequested));
            }
        }
    }
    // Unknown and Shutdown are never entered.
    for &s in VmState::ALL {
        for &e in VmEvent::ALL {
            assert!(!matches!(s.next(e), Some(VmState::Unknown | VmState::Shutdown)));
        }
    }
}

#[test]
fn host_helpers() {
    assert!(HostStatus::Alert.lost_connection() && !HostStatus::Up.lost_connection());
    assert!(ResourceState::ErrorInPrepareForMaintenance.is_maintenance());
    assert!(!ResourceState::Enabled.is_maintenance());
    assert!(ResourceState::ErrorInMaintenance.can_attempt_maintenance());
    assert!(!ResourceState::PrepareForMaintenance.can_attempt_maintenance());
}

#[test]
fn join_or_reads_naturally() {
    assert_eq!(join_or::<&str>(&[]), "");
    assert_eq!(join_or(&["A"]), "A");
    assert_eq!(join_or(&["A", "B", "C"]), "A, B or C");
}

const VOLUME_TABLE: &str = "
    Allocated: CreateRequested>Creating DestroyRequested>Destroy
    Creating: OperationRetry>Creating CreateRequested>Creating OperationFailed>Allocated
    Creating: OperationSucceeded>Ready DestroyRequested>Destroy
    Ready: ResizeRequested>Resizing SnapshotRequested>Snapshotting MigrationRequested>Migrating
    Ready: DestroyRequested>Destroy RevertSnapshotRequested>RevertSnapshotting
    Resizing: OperationSucceeded>Ready OperationFailed>Ready
    Snapshotting: OperationSucceeded>Ready OperationFailed>Ready
    RevertSnapshotting: OperationSucceeded>Ready OperationFailed>Ready
    Migrating: OperationSucceeded>Ready OperationFailed>Ready
    Destroy: OperationSucceeded>Destroy OperationFailed>Destroy OperationRetry>Destroy
    Destroy: RecoverRequested>Ready ExpungingRequested>Expunging
    Expunging: ExpungingRequested>Expunging OperationSucceeded>Expunged OperationFailed>Destroy
";

#[test]
fn volume_table_covers_every_pair() {
    check_table::<VolumeState>(VOLUME_TABLE, VolumeState::parse, VolumeEvent::parse);
}

const SNAPSHOT_TABLE: &str = "
    Allocated: CreateRequested>Creating
    Creating: OperationSucceeded>CreatedOnPrimary OperationNotPerformed>BackedUp OperationFailed>Error
    CreatedOnPrimary: BackupToSecondary>BackingUp OperationNotPerformed>BackedUp
    BackingUp: OperationSucceeded>BackedUp OperationFailed>Error OperationNotPerformed>BackedUp
    BackingUp: BackupToSecondary>BackingUp
    BackedUp: DestroyRequested>Destroying CopyingRequested>Copying BackupToSecondary>BackingUp
    Copying: OperationSucceeded>BackedUp OperationFailed>BackedUp
    Destroying: OperationSucceeded>Destroyed OperationFailed>BackedUp DestroyRequested>Destroying
    Error: DestroyRequested>Destroying
";

#[test]
fn snapshot_table_covers_every_pair() {
    check_table::<SnapshotState>(SNAPSHOT_TABLE, SnapshotState::parse, SnapshotEvent::parse);
    let usable: Vec<_> = SnapshotState::ALL.iter().filter(|s| s.usable()).collect();
    assert_eq!(usable, [&SnapshotState::BackedUp]);
    // Nothing leaves Destroyed.
    for &e in SnapshotEvent::ALL {
        assert_eq!(SnapshotState::Destroyed.next(e), None);
    }
}

#[test]
fn stored_values_convert_or_fail() {
    assert_eq!(VmState::try_from("Running".to_string()), Ok(VmState::Running));
    let e = VmState::try_from("Runing".to_string()).unwrap_err();
    assert_eq!(e.to_string(), "unknown VmState 'Runing'");
    assert_eq!("Ready".parse::<VolumeState>(), Ok(VolumeState::Ready));
}
