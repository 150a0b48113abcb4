//! The weighted operation mix of `ferrostack-bench load --mix list=60,deploy=15,…`.

use std::fmt;

/// One operation a load client performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// listVirtualMachines / listNetworks / listRouters / listZones / listHosts in turn, pagesize 500
    /// (plain users skip the admin-only listRouters and listHosts).
    List,
    /// deployVirtualMachine, following the job.
    Deploy,
    /// stopVirtualMachine then startVirtualMachine of one of the client's own VMs.
    StopStart,
    /// rebootRouter on a router of the load zone's networks (admin only).
    RebootRouter,
    /// destroyVirtualMachine expunge=true of one of the client's own VMs.
    Destroy,
}

impl Op {
    pub const ALL: [Op; 5] = [Op::List, Op::Deploy, Op::StopStart, Op::RebootRouter, Op::Destroy];

    pub fn name(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Deploy => "deploy",
            Op::StopStart => "stopstart",
            Op::RebootRouter => "reboot-router",
            Op::Destroy => "destroy",
        }
    }

    /// The operation a mix entry names (`restart-router` is another name for `reboot-router`).
    pub fn parse(s: &str) -> Option<Op> {
        match s {
            "restart-router" => Some(Op::RebootRouter),
            other => Op::ALL.into_iter().find(|o| o.name() == other),
        }
    }

    /// Only the admin may run it; plain users draw from the rest of the mix.
    pub fn admin_only(self) -> bool {
        match self {
            Op::RebootRouter => true,
            Op::List | Op::Deploy | Op::StopStart | Op::Destroy => false,
        }
    }
}

/// Operations with integer weights; an operation is drawn with probability weight / total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    entries: Vec<(Op, u32)>,
}

pub const DEFAULT_MIX: &str = "list=60,deploy=15,stopstart=10,reboot-router=5,destroy=10";

impl Mix {
    /// `name=weight` pairs separated by commas, each operation at most once, weights summing
    /// to more than 0.
    pub fn parse(s: &str) -> Result<Mix, String> {
        let names = Op::ALL.map(Op::name).join(", ");
        let mut entries: Vec<(Op, u32)> = Vec::new();
        for part in s.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(format!(
                    "--mix {s:?}: an empty entry; write name=weight pairs separated by commas"
                ));
            }
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("--mix: {part:?} is not name=weight (e.g. list=60)"))?;
            let (name, weight) = (name.trim(), weight.trim());
            let op = Op::parse(name)
                .ok_or_else(|| format!("--mix: unknown operation {name:?}; known: {names}, restart-router"))?;
            let w: u32 = weight
                .parse()
                .map_err(|_| format!("--mix: the weight of {name} must be a whole number, not {weight:?}"))?;
            if entries.iter().any(|(o, _)| *o == op) {
                return Err(format!("--mix: {} is given twice", op.name()));
            }
            entries.push((op, w));
        }
        let m = Mix { entries };
        if m.total() == 0 {
            return Err(format!(
                "--mix {s:?}: the weights sum to 0; give at least one operation a weight"
            ));
        }
        Ok(m)
    }

    pub fn total(&self) -> u64 {
        self.entries.iter().map(|(_, w)| u64::from(*w)).sum()
    }

    /// The mix a client of this role draws from: plain users leave out admin-only operations.
    /// `None` when nothing with a weight is left.
    pub fn for_role(&self, admin: bool) -> Option<Mix> {
        let m = Mix {
            entries: self
                .entries
                .iter()
                .copied()
                .filter(|(o, w)| *w > 0 && (admin || !o.admin_only()))
                .collect(),
        };
        (m.total() > 0).then_some(m)
    }

    /// The operation for a draw `r` in `0..total()`.
    pub fn pick(&self, r: u64) -> Op {
        let mut acc = 0;
        for (op, w) in &self.entries {
            acc += u64::from(*w);
            if r < acc {
                return *op;
            }
        }
        // r >= total: the last operation with a weight (callers draw below total()).
        self.entries
            .iter()
            .rev()
            .find(|(_, w)| *w > 0)
            .map(|(o, _)| *o)
            .unwrap_or(Op::List)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: Vec<String> = self.entries.iter().map(|(o, w)| format!("{}={w}", o.name())).collect();
        f.write_str(&s.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_default_mix() {
        let m = Mix::parse(DEFAULT_MIX).unwrap();
        assert_eq!(m.total(), 100);
        assert_eq!(m.to_string(), DEFAULT_MIX);
        assert_eq!(m.pick(0), Op::List);
        assert_eq!(m.pick(59), Op::List);
        assert_eq!(m.pick(60), Op::Deploy);
        assert_eq!(m.pick(74), Op::Deploy);
        assert_eq!(m.pick(75), Op::StopStart);
        assert_eq!(m.pick(85), Op::RebootRouter);
        assert_eq!(m.pick(89), Op::RebootRouter);
        assert_eq!(m.pick(90), Op::Destroy);
        assert_eq!(m.pick(99), Op::Destroy);
    }

    #[test]
    fn draws_follow_the_weights() {
        let m = Mix::parse("list=3, deploy = 1").unwrap();
        let mut n = [0; 2];
        for r in 0..m.total() * 100 {
            match m.pick(r % m.total()) {
                Op::List => n[0] += 1,
                Op::Deploy => n[1] += 1,
                Op::StopStart | Op::RebootRouter | Op::Destroy => panic!("not in the mix"),
            }
        }
        assert_eq!(n, [300, 100]);
    }

    #[test]
    fn restart_router_is_reboot_router_and_admin_only() {
        let m = Mix::parse("restart-router=5,list=5").unwrap();
        assert_eq!(m.to_string(), "reboot-router=5,list=5");
        let users = m.for_role(false).unwrap();
        assert_eq!(users.to_string(), "list=5");
        assert_eq!(users.pick(0), Op::List);
        assert_eq!(m.for_role(true).unwrap(), m);
        assert!(Mix::parse("reboot-router=1").unwrap().for_role(false).is_none());
    }

    #[test]
    fn zero_weights_are_left_out() {
        let m = Mix::parse("list=0,destroy=2").unwrap();
        assert_eq!(m.pick(0), Op::Destroy);
        assert_eq!(m.for_role(false).unwrap().to_string(), "destroy=2");
    }

    #[test]
    fn refuses_bad_mixes() {
        for bad in [
            "",
            "list",
            "list=",
            "list=-1",
            "list=1.5",
            "list=60,",
            "lists=60",
            "list=1,list=2",
            "reboot-router=1,restart-router=1",
            "list=0,deploy=0",
        ] {
            assert!(Mix::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let e = Mix::parse("frobnicate=1").unwrap_err();
        assert!(e.contains("frobnicate") && e.contains("stopstart"), "{e}");
    }
}
