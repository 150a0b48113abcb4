//! Host bridges for NICs: one per guest VLAN, the untagged guest bridge, the control bridge.

use ferrostack_agent_api::{AgentError, NicSpec, NicTraffic};

use crate::KvmConfig;

/// The bridge a NIC joins (created if missing).
pub(crate) async fn ensure_bridge(cfg: &KvmConfig, nic: &NicSpec) -> Result<String, AgentError> {
    let vlan = nic
        .broadcast_uri
        .as_deref()
        .and_then(|u| u.strip_prefix("vlan://"))
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty());
    let (bridge, uplink) = match (nic.traffic, vlan) {
        (NicTraffic::Control, _) => ("cloud0".to_string(), None),
        (NicTraffic::Guest | NicTraffic::Public, Some(v)) => (
            format!("brvlan{v}"),
            cfg.guest_nic.as_ref().map(|d| (d.clone(), Some(v.to_string()))),
        ),
        (NicTraffic::Guest | NicTraffic::Public, None) => (
            "cloudbr0".to_string(),
            cfg.guest_nic.as_ref().map(|d| (d.clone(), None)),
        ),
    };
    if ip(cfg, &["link", "show", "dev", &bridge]).await.is_err() {
        // Another start may be making it at the same moment: "exists" is fine.
        let _ = ip(cfg, &["link", "add", "name", &bridge, "type", "bridge"]).await;
        ip(cfg, &["link", "set", "dev", &bridge, "up"]).await?;
    }
    if let Some((dev, vlan)) = uplink {
        let port = match &vlan {
            Some(v) => {
                let sub = format!("{dev}.{v}");
                if ip(cfg, &["link", "show", "dev", &sub]).await.is_err() {
                    let _ = ip(
                        cfg,
                        &["link", "add", "link", &dev, "name", &sub, "type", "vlan", "id", v],
                    )
                    .await;
                }
                sub
            }
            None => dev,
        };
        ip(cfg, &["link", "set", "dev", &port, "master", &bridge]).await?;
        ip(cfg, &["link", "set", "dev", &port, "up"]).await?;
    }
    Ok(bridge)
}

async fn ip(cfg: &KvmConfig, args: &[&str]) -> Result<(), AgentError> {
    let mut cmd = tokio::process::Command::new("ip");
    if let Some(ns) = &cfg.netns {
        cmd.args(["-n", ns]);
    }
    let out = cmd
        .args(args)
        .output()
        .await
        .map_err(|e| AgentError::Failed(format!("ip {}: {e}", args.join(" "))))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(AgentError::Failed(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
