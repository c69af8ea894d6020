//! The runs a command performs, as jobs for a batch scheduler: [`Plan`] lists them (what
//! `nnlab plan` prints), [`Plan::split`] deals them to shards, and an [`Assignment`] tells
//! one process (`--shard I/N`) which runs are its own.
//!
//! # How runs are dealt to shards
//! A plan is cut into *groups*: the runs of a study that depend on each other form one
//! group (in the learning-rate study, a seed's lr-0.1 run and the two schedules whose
//! switch steps are detected on its curves), every other run of a CIFAR-10 study is a
//! group of its own, and a study that runs as one piece (activations, XOR, conv) is one
//! group. Groups are taken from the most expensive down (ties in plan order), each given to
//! the shard with the least planned cost so far (ties to the lowest index): the
//! longest-processing-time rule, within 4/3 of the best possible balance. The deal depends
//! on the plan alone, so every shard computes the same one.
//!
//! Because dependent runs share a shard and run there in order, no shard ever waits for
//! another. A run planned twice with the same configuration (the learning-rate study's
//! Adam run is the architectures study's cnn4 run) is performed once, by the first study;
//! the second reads it when the results are merged. Shards write run results only (each
//! atomically, each by exactly one shard); summaries and figures are rebuilt from them by
//! `nnlab report` ([`super::write_report`]), which merges whatever the directory holds.

use super::{AnyStudy, cost};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where shards leave their records, under a study's directory and under `<out>`.
pub const SHARDS_DIR: &str = "shards";

/// The identity of a run across studies: `<study>/<run id>`, or the study's name for a
/// study that is one task named after itself.
pub fn job_id(study: &str, run: &str) -> String {
    if run == study { study.to_string() } else { format!("{study}/{run}") }
}

/// One run of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// `<study>/<run>`: the run's result file under `<out>` without `.json` (a study that
    /// runs as one piece: its runs, or its name).
    pub id: String,
    /// The study it belongs to.
    pub study: String,
    /// Its label in progress output.
    pub label: String,
    /// Its expected work.
    pub work: cost::Work,
    /// [`cost::Work::cost`], for sorting and balancing.
    pub cost: f64,
    /// Jobs (ids) whose results it needs first.
    pub needs: Vec<String>,
    /// The job that performs this same run (equal configuration), when it is not performed
    /// here: its result is read from there.
    pub reuses: Option<String>,
    /// The group it is dealt with (see the module docs).
    pub group: usize,
    /// The shard that performs it, once [`Plan::split`]; `None` for a reused run.
    pub shard: Option<usize>,
}

/// The runs of a command, in the order one process performs them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// What was planned (`all`, `architectures`, ...).
    pub command: String,
    /// Every run, reused ones included.
    pub jobs: Vec<Job>,
    /// Shards the plan is dealt to (1 until [`Plan::split`]).
    pub shards: usize,
    /// Planned cost of each shard.
    pub shard_costs: Vec<f64>,
    /// Expected wall time of each shard in seconds, once [`Plan::timed`] (empty before).
    #[serde(default)]
    pub shard_seconds: Vec<f64>,
    /// The rates that time came from, measured on one machine and backend.
    #[serde(default)]
    pub rates: Option<super::all::Rates>,
}

impl Plan {
    /// The plan of the studies `studies`, run in that order by `command`.
    pub fn of(command: &str, studies: &[&dyn AnyStudy]) -> Plan {
        let mut jobs: Vec<Job> = Vec::new();
        let mut keys: Vec<(super::cifar_runs::RunKey, String)> = Vec::new();
        let mut groups = 0;
        for study in studies {
            let name = study.name();
            let runs = study.plan();
            let first_group = groups;
            // Union of the runs linked by `needs`, within the study.
            let index: HashMap<&str, usize> = runs.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
            let mut parent: Vec<usize> = (0..runs.len()).collect();
            fn root(parent: &mut [usize], mut i: usize) -> usize {
                while parent[i] != i {
                    parent[i] = parent[parent[i]];
                    i = parent[i];
                }
                i
            }
            for (i, r) in runs.iter().enumerate() {
                for need in &r.needs {
                    if let Some(&j) = index.get(need.as_str()) {
                        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                        parent[a.max(b)] = a.min(b);
                    }
                }
            }
            let mut group_of_root: HashMap<usize, usize> = HashMap::new();
            for (i, r) in runs.iter().enumerate() {
                let id = job_id(name, &r.id);
                let reuses =
                    r.key.as_ref().and_then(|k| keys.iter().find(|(other, _)| other == k)).map(|(_, id)| id.clone());
                let group = if reuses.is_some() {
                    usize::MAX
                } else if !study.sharded() {
                    first_group
                } else {
                    let (r, known) = (root(&mut parent, i), group_of_root.len());
                    *group_of_root.entry(r).or_insert(first_group + known)
                };
                if let Some(k) = &r.key
                    && reuses.is_none()
                {
                    keys.push((k.clone(), id.clone()));
                }
                let mut needs: Vec<String> = r.needs.iter().map(|n| job_id(name, n)).collect();
                needs.extend(reuses.clone());
                jobs.push(Job {
                    id,
                    study: name.to_string(),
                    label: r.label.clone(),
                    work: r.work,
                    cost: if reuses.is_some() { 0.0 } else { r.cost() },
                    needs,
                    reuses,
                    group,
                    shard: None,
                });
            }
            // The groups this study opened: its dependency groups, or its one piece.
            groups += if study.sharded() { group_of_root.len() } else { usize::from(!runs.is_empty()) };
        }
        let mut plan = Plan {
            command: command.to_string(),
            jobs,
            shards: 1,
            shard_costs: Vec::new(),
            shard_seconds: Vec::new(),
            rates: None,
        };
        plan.deal(1);
        plan
    }

    /// The plan of `nnlab all` with `config`.
    pub fn of_all(config: &super::all::AllConfig) -> Plan {
        Plan::of("all", &config.studies.each())
    }

    /// Runs performed (reused ones not counted).
    pub fn runs(&self) -> usize {
        self.jobs.iter().filter(|j| j.reuses.is_none()).count()
    }

    /// Planned cost of every run performed.
    pub fn total_cost(&self) -> f64 {
        self.jobs.iter().map(|j| j.cost).sum()
    }

    /// The same plan dealt to `count` shards (see the module docs); `count` 0 is an error.
    pub fn split(mut self, count: usize) -> Result<Plan> {
        crate::error::ensure_positive("shards", count)?;
        self.deal(count);
        Ok(self)
    }

    fn deal(&mut self, count: usize) {
        let mut group_cost: HashMap<usize, (f64, usize)> = HashMap::new();
        for (i, j) in self.jobs.iter().enumerate().filter(|(_, j)| j.reuses.is_none()) {
            let e = group_cost.entry(j.group).or_insert((0.0, i));
            e.0 += j.cost;
        }
        let mut order: Vec<(usize, f64, usize)> = group_cost.into_iter().map(|(g, (c, first))| (g, c, first)).collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
        let mut loads = vec![0.0f64; count];
        let mut shard_of: HashMap<usize, usize> = HashMap::new();
        for (group, cost, _) in order {
            let (shard, _) = loads
                .iter()
                .enumerate()
                .fold((0, f64::INFINITY), |best, (i, &l)| if l < best.1 { (i, l) } else { best });
            loads[shard] += cost;
            shard_of.insert(group, shard);
        }
        for j in &mut self.jobs {
            j.shard = if j.reuses.is_some() { None } else { shard_of.get(&j.group).copied() };
        }
        self.shards = count;
        self.shard_costs = loads;
    }

    /// The same plan with each shard's expected wall time at `rates`
    /// ([`super::all::measure_rates`] on the machine that will run it).
    pub fn timed(mut self, rates: super::all::Rates) -> Plan {
        self.shard_seconds = (0..self.shards)
            .map(|k| self.jobs.iter().filter(|j| j.shard == Some(k)).map(|j| rates.seconds(&j.work)).sum())
            .collect();
        self.rates = Some(rates);
        self
    }

    /// Shard `shard`'s part of the plan, dealt to `shard.count` shards.
    pub fn assignment(&self, shard: Shard) -> Result<Assignment> {
        let dealt = self.clone().split(shard.count)?;
        let owner = dealt.jobs.iter().map(|j| (j.id.clone(), (j.shard, j.reuses.clone()))).collect();
        Ok(Assignment { shard, owner })
    }

    /// The plan as text: one line per run with its shard, share of the cost, id and what it
    /// needs, then each shard's share.
    pub fn text(&self) -> String {
        let total = self.total_cost().max(f64::MIN_POSITIVE);
        let mut s = format!(
            "nnlab {}: {} runs ({} more reused from another study), {} shard{}\n\n",
            self.command,
            self.runs(),
            self.jobs.len() - self.runs(),
            self.shards,
            if self.shards == 1 { "" } else { "s" }
        );
        let width = self.jobs.iter().map(|j| j.id.len()).max().unwrap_or(2).max(2);
        s.push_str(&format!("{:>5}  {:>5}  {:>6}  {:<width$}  needs\n", "#", "shard", "cost %", "id"));
        for (i, j) in self.jobs.iter().enumerate() {
            let shard = j.shard.map_or("-".to_string(), |s| s.to_string());
            let cost = if j.reuses.is_some() { "-".to_string() } else { format!("{:.2}", 100.0 * j.cost / total) };
            let needs = match &j.reuses {
                Some(r) => format!("reused from {r}"),
                None => j.needs.join(", "),
            };
            s.push_str(format!("{:>5}  {shard:>5}  {cost:>6}  {:<width$}  {needs}", i + 1, j.id).trim_end());
            s.push('\n');
        }
        let timed = !self.shard_seconds.is_empty();
        s.push_str(&format!("\nshard  runs  cost %{}\n", if timed { "  expected wall time" } else { "" }));
        for (k, c) in self.shard_costs.iter().enumerate() {
            let runs = self.jobs.iter().filter(|j| j.shard == Some(k)).count();
            let time = self.shard_seconds.get(k).map(|t| format!("  {}", duration(*t))).unwrap_or_default();
            s.push_str(&format!("{k:>5}  {runs:>4}  {:>6.2}{time}\n", 100.0 * c / total));
        }
        if timed {
            s.push_str(
                "\nExpected times scale the planned work by training steps timed on this machine and backend \
                 (loading CIFAR-10 and a GPU's first kernel compilation not included).\n",
            );
        }
        s
    }
}

/// `seconds` as `1 h 05 min`, `12 min`, or `40 s`.
fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600 + 30) / 60),
    }
}

/// Shard `index` of `count` (`I/N` on the command line; indices count from 0, as Slurm's
/// `SLURM_ARRAY_TASK_ID` with `--array=0-(N-1)` and Kubernetes' `JOB_COMPLETION_INDEX` do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// Shards in all.
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = Error;
    fn from_str(s: &str) -> Result<Shard> {
        let bad = |why: String| Error::invalid("shard", format!("'{s}': {why}"));
        let (i, n) =
            s.split_once('/').ok_or_else(|| bad("write it as I/N, e.g. 0/4 (shards 0, 1, 2, 3 of 4)".into()))?;
        let index: usize = i.trim().parse().map_err(|_| bad(format!("'{i}' is not a shard index (0, 1, 2, ...)")))?;
        let count: usize = n.trim().parse().map_err(|_| bad(format!("'{n}' is not a number of shards")))?;
        if count == 0 {
            return Err(bad("the number of shards must be at least 1".into()));
        }
        if index >= count {
            return Err(bad(format!("indices count from 0, so the last of {count} shards is {}/{count}", count - 1)));
        }
        Ok(Shard { index, count })
    }
}

/// One shard's part of a plan: which runs this process performs.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// This process's shard.
    pub shard: Shard,
    /// Each job's shard, and the job it reuses.
    owner: HashMap<String, (Option<usize>, Option<String>)>,
}

impl Assignment {
    /// Whether this shard performs the run `id` (`<study>/<run>`). A run the plan does not
    /// hold is nobody's.
    pub fn owns(&self, id: &str) -> bool {
        self.owner.get(id).is_some_and(|(s, _)| *s == Some(self.shard.index))
    }

    /// Why this shard does not perform `id`, for the progress output.
    pub fn why_not(&self, id: &str) -> String {
        match self.owner.get(id) {
            Some((_, Some(reused))) => format!("{id}: the same run as {reused}, read from there by `nnlab report`"),
            Some((Some(s), None)) => format!("{id}: shard {s}/{} runs it", self.shard.count),
            _ => format!("{id}: not in this command's plan"),
        }
    }
}

/// What a shard did in one study: the record it leaves in `<study>/shards/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardWork {
    /// Runs it trained.
    pub trained: Vec<String>,
    /// Runs of its own it found finished and reused.
    pub reused: Vec<String>,
    /// Runs of other shards, not finished when it looked.
    pub left: Vec<String>,
}

/// The record of a shard's part of a study, `<study dir>/shards/<I>of<N>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// The shard.
    pub shard: Shard,
    /// What it did.
    pub work: ShardWork,
    /// Its host name, when known.
    pub host: Option<String>,
    /// nnlab version.
    pub version: String,
}

/// Writes `<dir>/shards/<I>of<N>.json` for `assignment`'s shard; returns its path.
pub fn write_shard_record(dir: &Path, assignment: &Assignment, work: ShardWork) -> Result<PathBuf> {
    let shards = crate::results::prepare_dir(&dir.join(SHARDS_DIR))?;
    let s = assignment.shard;
    let path = shards.join(format!("{}of{}.json", s.index, s.count));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_string());
    crate::results::write_json(
        &path,
        &ShardRecord { shard: s, work, host, version: env!("CARGO_PKG_VERSION").into() },
    )?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_shards_add_up_their_runs_at_the_rates() {
        let config = crate::study::all::AllConfig::quick();
        let rates = crate::study::all::Rates { per_mac: 1e-9, per_step: 1e-3, per_xor_epoch: 1e-4 };
        let plan = Plan::of_all(&config).split(3).unwrap().timed(rates);
        assert_eq!(plan.shard_seconds.len(), 3);
        let mut expected = [0.0f64; 3];
        for j in &plan.jobs {
            if let Some(s) = j.shard {
                let w = j.work;
                expected[s] += w.macs * 1e-9 + w.steps * 1e-3 + w.xor_epochs * 1e-4;
            }
        }
        for (got, want) in plan.shard_seconds.iter().zip(expected) {
            assert!(want > 0.0 && (got - want).abs() <= 1e-9 * want, "{got} vs {want}");
        }
        assert!(plan.text().contains("expected wall time"));
    }

    #[test]
    fn shard_parses_and_refuses_with_reasons() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, count: 4 });
        for (bad, why) in [("4/4", "3/4"), ("1/0", "at least 1"), ("x/2", "index"), ("3", "I/N")] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
