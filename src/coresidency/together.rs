//! Several profiles loaded at once: the per-device sum of their footprints against capacity.

use serde::Serialize;

use super::Footprint;
use crate::hardware::Machine;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Together {
    pub members: Vec<String>,
    /// The machine's devices in order (GPUs, then CPU).
    pub devices: Vec<DeviceSum>,
    /// Every device's total within its capacity.
    pub fits: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceSum {
    pub name: String,
    /// Each member's share, in member order, MiB.
    pub members: Vec<MemberMib>,
    pub total_mib: f64,
    pub capacity_mib: f64,
    /// How far the total is over capacity (0 when it fits).
    pub over_mib: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberMib {
    pub id: String,
    pub mib: f64,
}

impl Together {
    /// The devices whose total exceeds capacity.
    pub fn over(&self) -> impl Iterator<Item = &DeviceSum> {
        self.devices.iter().filter(|d| d.over_mib > 0.0)
    }
}

/// The footprints of `members` summed per device of `machine`.
pub fn together(members: &[&Footprint], machine: &Machine) -> Together {
    let devices: Vec<DeviceSum> = machine
        .devices()
        .map(|dev| {
            let shares: Vec<MemberMib> = members
                .iter()
                .map(|f| MemberMib {
                    id: f.id.clone(),
                    mib: f.mib(&dev.id),
                })
                .collect();
            let total = round2(shares.iter().map(|m| m.mib).sum());
            let capacity = dev.capacity_mib as f64;
            DeviceSum {
                name: dev.id.clone(),
                members: shares,
                total_mib: total,
                capacity_mib: capacity,
                over_mib: round2((total - capacity).max(0.0)),
            }
        })
        .collect();
    Together {
        members: members.iter().map(|f| f.id.clone()).collect(),
        fits: devices.iter().all(|d| d.over_mib == 0.0),
        devices,
    }
}

/// Whether `members` fit together: the test [`together`] makes, without building the report.
pub fn fits(members: &[&Footprint], machine: &Machine) -> bool {
    machine.devices().all(|dev| {
        let total: f64 = members.iter().map(|f| f.mib(&dev.id)).sum();
        round2(total) <= dev.capacity_mib as f64
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The table `plan --together` prints: one row per device, one column per member.
pub fn render_human(t: &Together) -> String {
    let mut out = format!("together: {}\n", t.members.join(" + "));
    for d in &t.devices {
        let parts: Vec<String> = d
            .members
            .iter()
            .filter(|m| m.mib > 0.0)
            .map(|m| format!("{} {:.2}", m.id, m.mib))
            .collect();
        let verdict = if d.over_mib > 0.0 {
            format!("  OVER by {:.2} MiB", d.over_mib)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  {:<6} {:>10.2} / {:>10.2} MiB  ({}){verdict}\n",
            d.name,
            d.total_mib,
            d.capacity_mib,
            if parts.is_empty() {
                "nothing".to_string()
            } else {
                parts.join(" + ")
            }
        ));
    }
    if t.fits {
        out.push_str("fits: every device is within capacity\n");
    } else {
        let over: Vec<String> = t
            .over()
            .map(|d| format!("{} (+{:.2} MiB)", d.name, d.over_mib))
            .collect();
        out.push_str(&format!(
            "does not fit: {}; drop a member, or shrink one (CTX_SIZE, -ngl, -ot …=CPU) and re-plan\n",
            over.join(", ")
        ));
    }
    out
}
