//! Which profiles may be loaded together: every maximal set that fits (a bounded search), and
//! the largest router `--models-max` that is safe whatever the order of requests.

use serde::Serialize;

use super::{Footprint, RoleGroup, Unplanned, fits};
use crate::hardware::Machine;

/// The default bound of the maximal-set search, in fit evaluations (each sums every member on
/// every device). 20 profiles that pairwise conflict need ~2·10^4; the search stops cleanly at
/// the bound and says so.
pub const DEFAULT_STEP_LIMIT: u64 = 200_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sets {
    /// Every set of planned profiles that fits and to which no other planned profile can be
    /// added, in profile order. Incomplete when `complete` is false.
    pub maximal: Vec<Vec<String>>,
    /// False when the search reached `step_limit` before it ended.
    pub complete: bool,
    pub steps: u64,
    pub step_limit: u64,
    pub models_max: ModelsMax,
    /// Profiles left out (no plan), with the reason.
    pub unplanned: Vec<Unplanned>,
    /// vLLM profiles: not in the router preset or the llama-swap config, so not counted.
    pub vllm: Vec<String>,
    /// Whether the profiles with ROLES fit together (`None`: no profile has ROLES).
    pub role_group: Option<RoleGroup>,
}

/// The largest N such that every N of the profiles fit together (llama-server's router loads
/// models on request until `--models-max` are loaded, in whatever order requests come), and the
/// value to give the router (never 0: 0 means unlimited there).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelsMax {
    /// Proven by the per-device bound: 0 when a profile does not fit even alone.
    pub proven: usize,
    /// What to pass as `--models-max`: `proven`, but at least 1, and 1 when a profile could not
    /// be planned (nothing is known about it).
    pub value: usize,
    /// When `proven` < the number of planned profiles: a set of `proven + 1` profiles that does
    /// not fit, and the device it overflows.
    pub counterexample: Option<Counterexample>,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counterexample {
    pub device: String,
    pub members: Vec<String>,
}

impl Counterexample {
    /// "a + b + c do not fit together on CUDA0".
    pub fn sentence(&self) -> String {
        format!(
            "{} do not fit together on {}",
            self.members.join(" + "),
            self.device
        )
    }
}

/// Every set of N footprints fits iff, on each device, the N largest shares fit, because a set
/// overflows exactly when one device's sum exceeds that device's capacity.
pub fn safe_models_max(
    footprints: &[Footprint],
    machine: &Machine,
) -> (usize, Option<Counterexample>) {
    let mut best = footprints.len();
    let mut witness = None;
    for dev in machine.devices() {
        let mut order: Vec<&Footprint> = footprints.iter().collect();
        order.sort_by(|a, b| b.mib(&dev.id).total_cmp(&a.mib(&dev.id)));
        let k = (1..=order.len())
            .take_while(|&k| fits(&order[..k], machine))
            .last()
            .unwrap_or(0);
        // `fits` checks every device, so a prefix can fail on another device first; the
        // smallest k over all devices is still the answer, with that prefix as the witness.
        if k < best {
            best = k;
            let members = order[..=k].iter().map(|f| f.id.clone()).collect();
            let over = machine
                .devices()
                .find(|d| !fits_on(&order[..=k], &d.id, d.capacity_mib))
                .map_or(dev.id.clone(), |d| d.id.clone());
            witness = Some(Counterexample {
                device: over,
                members,
            });
        }
    }
    (best, witness)
}

fn fits_on(members: &[&Footprint], device: &str, capacity_mib: u64) -> bool {
    let total: f64 = members.iter().map(|f| f.mib(device)).sum();
    (total * 100.0).round() / 100.0 <= capacity_mib as f64
}

/// The co-residency sets of `footprints` on `machine`, searching at most `step_limit` fit
/// evaluations.
pub fn co_resident_sets(
    footprints: &[Footprint],
    unplanned: Vec<Unplanned>,
    machine: &Machine,
    step_limit: u64,
) -> Sets {
    let mut search = Search {
        all: footprints,
        machine,
        steps: 0,
        limit: step_limit,
        found: Vec::new(),
        stopped: false,
    };
    search.descend(0, &mut Vec::new());
    let (proven, counterexample) = safe_models_max(footprints, machine);
    let models_max = models_max(footprints, &unplanned, proven, counterexample);
    Sets {
        maximal: search
            .found
            .iter()
            .map(|s| s.iter().map(|&i| footprints[i].id.clone()).collect())
            .collect(),
        complete: !search.stopped,
        steps: search.steps,
        step_limit,
        models_max,
        unplanned,
        vllm: Vec::new(),
        role_group: None,
    }
}

fn models_max(
    footprints: &[Footprint],
    unplanned: &[Unplanned],
    proven: usize,
    counterexample: Option<Counterexample>,
) -> ModelsMax {
    let n = footprints.len();
    let (value, why) = if !unplanned.is_empty() {
        let ids: Vec<&str> = unplanned.iter().map(|u| u.id.as_str()).collect();
        (
            1,
            format!(
                "1: {} could not be planned ({}), so no pair is known to fit; make their MODEL files readable here and render again",
                ids.join(", "),
                unplanned[0].why
            ),
        )
    } else if n == 0 {
        (1, "1: there are no profiles".to_string())
    } else if proven == 0 {
        let who = counterexample.as_ref().map_or(String::new(), |c| {
            format!("{} on {}", c.members.join(", "), c.device)
        });
        (
            1,
            format!("1: a profile does not fit even alone ({who}); `profilec plan ID` shows where"),
        )
    } else if proven == 1 {
        let c = counterexample
            .as_ref()
            .map_or(String::new(), |c| format!(": {}", c.sentence()));
        (
            1,
            format!(
                "1: not every pair of the {n} profiles fits together{c}, so the router must hold one model at a time"
            ),
        )
    } else if proven == n {
        (n, format!("{n}: all {n} profiles fit together"))
    } else {
        let c = counterexample
            .as_ref()
            .map_or(String::new(), |c| format!("; {}", c.sentence()));
        (
            proven,
            format!("{proven}: every {proven} of the {n} profiles fit together{c}"),
        )
    };
    ModelsMax {
        proven,
        value,
        counterexample,
        why,
    }
}

struct Search<'a> {
    all: &'a [Footprint],
    machine: &'a Machine,
    steps: u64,
    limit: u64,
    found: Vec<Vec<usize>>,
    stopped: bool,
}

impl Search<'_> {
    /// `false` once the search has stopped: nothing is concluded past the limit.
    fn fits(&mut self, members: &[usize]) -> bool {
        if self.stopped {
            return false;
        }
        self.steps += 1;
        if self.steps > self.limit {
            self.stopped = true;
            return false;
        }
        let refs: Vec<&Footprint> = members.iter().map(|&i| &self.all[i]).collect();
        fits(&refs, self.machine)
    }

    /// Decides profile `i` for every set that extends `chosen` (which fits).
    fn descend(&mut self, i: usize, chosen: &mut Vec<usize>) {
        if self.stopped {
            return;
        }
        if i == self.all.len() {
            if !chosen.is_empty() && self.is_maximal(chosen) && !self.stopped {
                self.found.push(chosen.clone());
            }
            return;
        }
        chosen.push(i);
        let with = self.fits(chosen);
        if with {
            self.descend(i + 1, chosen);
        }
        chosen.pop();
        // Leaving `i` out can end maximal only if something later blocks it: when `chosen`,
        // `i` and everything after it fit together, no set of this branch is maximal.
        let mut rest: Vec<usize> = chosen.clone();
        rest.extend(i..self.all.len());
        if !with || !self.fits(&rest) {
            self.descend(i + 1, chosen);
        }
    }

    fn is_maximal(&mut self, chosen: &[usize]) -> bool {
        (0..self.all.len())
            .filter(|j| !chosen.contains(j))
            .all(|j| {
                let mut more = chosen.to_vec();
                more.push(j);
                !self.fits(&more)
            })
    }
}
