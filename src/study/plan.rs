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
use std::sync::{Arc, Mutex};

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
        Ok(Assignment { shard, owner, worker: None })
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
                "\nExpected times scale the planned work by training steps and evaluation passes timed on this machine and backend \
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

/// One shard's part of a plan: which runs this process performs, and, for one of its
/// concurrent workers ([`Workers`]), which of those this worker performs.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// This process's shard (`0/1` for a process that runs the whole plan).
    pub shard: Shard,
    /// Each job's shard, and the job it reuses.
    owner: HashMap<String, (Option<usize>, Option<String>)>,
    /// The workers sharing the shard, and which one this is.
    worker: Option<(Arc<Workers>, usize)>,
}

impl Assignment {
    /// Whether this process (or, for a worker, this worker) performs the run `id`
    /// (`<study>/<run>`). A run the plan does not hold is nobody's. A worker claims the run's
    /// group here when the rule of [`Workers`] gives it to it.
    pub fn owns(&self, id: &str) -> bool {
        let mine = self.shard_owns(id);
        match &self.worker {
            Some((workers, w)) => mine && workers.claim(id, *w),
            None => mine,
        }
    }

    fn shard_owns(&self, id: &str) -> bool {
        self.owner.get(id).is_some_and(|(s, _)| *s == Some(self.shard.index))
    }

    /// The same shard, as worker `index` of `workers`.
    pub fn for_worker(&self, workers: Arc<Workers>, index: usize) -> Assignment {
        Assignment { worker: Some((workers, index)), ..self.clone() }
    }

    /// The workers this worker belongs to ([`Assignment::for_worker`]); `None` for a
    /// process's whole part.
    pub fn workers(&self) -> Option<&Arc<Workers>> {
        self.worker.as_ref().map(|(w, _)| w)
    }

    /// Whether `id`, which this worker does not perform, is done in this process all the
    /// same: by another worker, or (a run planned twice) as the run it reuses. Nothing needs
    /// saying about such a run.
    pub fn done_in_this_process(&self, id: &str) -> bool {
        self.worker.is_some()
            && (self.shard_owns(id)
                || self.owner.get(id).and_then(|(_, r)| r.as_deref()).is_some_and(|r| self.shard_owns(r)))
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

/// The concurrent workers of one process (`--jobs N`), sharing its part of a plan.
///
/// A worker performs whole groups (see the module docs), so dependent runs stay in order on
/// one thread. It walks a study's plan as a single process would and claims a group when
/// it reaches it, at most one group per pass over the study, and only the most expensive
/// group of the study that no worker has claimed yet (ties: the earlier in the plan); it
/// passes over the study again until none is left. The long runs thus start first, as in
/// the longest-processing-time rule, while the claims follow how long runs really take
/// rather than their planned cost. Workers take the studies in the order of their most
/// expensive group ([`Workers::study_order`]): in `nnlab all`, the learning-rate study's
/// chain of lr 0.1 and its schedules starts at once.
#[derive(Debug)]
pub struct Workers {
    /// Workers in all.
    count: usize,
    /// Each job's group and study, for the jobs of this process's shard.
    group_of: HashMap<String, (usize, String)>,
    /// Each such group's planned cost and the index of its first job.
    groups: HashMap<usize, (f64, usize)>,
    /// The studies, most expensive group first.
    order: Vec<String>,
    state: Mutex<WorkersState>,
}

#[derive(Debug, Default)]
struct WorkersState {
    /// The worker that claimed each group, and in which of its passes.
    owner: HashMap<usize, (usize, usize)>,
    /// Each worker's current pass.
    pass: Vec<usize>,
    /// Set once a worker failed: nothing more is claimed.
    stopped: bool,
    /// What the workers did in each study, for a shard's record.
    done: HashMap<String, ShardWork>,
}

impl Workers {
    /// `count` workers sharing the runs that shard `shard` of `plan` performs.
    pub fn new(plan: &Plan, shard: Shard, count: usize) -> Result<Workers> {
        crate::error::ensure_positive("jobs", count)?;
        let dealt = plan.clone().split(shard.count)?;
        let mut group_of = HashMap::new();
        let mut groups: HashMap<usize, (f64, usize)> = HashMap::new();
        let mut largest: Vec<(String, f64, usize)> = Vec::new();
        for (i, j) in dealt.jobs.iter().enumerate().filter(|(_, j)| j.shard == Some(shard.index)) {
            group_of.insert(j.id.clone(), (j.group, j.study.clone()));
            groups.entry(j.group).or_insert((0.0, i)).0 += j.cost;
        }
        for (i, j) in dealt.jobs.iter().enumerate() {
            if let Some(&(cost, _)) = groups.get(&j.group).filter(|_| j.shard == Some(shard.index)) {
                match largest.iter_mut().find(|(s, _, _)| *s == j.study) {
                    Some(entry) => entry.1 = entry.1.max(cost),
                    None => largest.push((j.study.clone(), cost, i)),
                }
            }
        }
        largest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
        let state = WorkersState { pass: vec![0; count], ..Default::default() };
        Ok(Workers {
            count,
            group_of,
            groups,
            order: largest.into_iter().map(|(s, _, _)| s).collect(),
            state: Mutex::new(state),
        })
    }

    /// Workers in all.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The studies with runs for these workers, in the order workers take them: most
    /// expensive group first.
    pub fn study_order(&self) -> &[String] {
        &self.order
    }

    fn state(&self) -> std::sync::MutexGuard<'_, WorkersState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a pass of `worker` over a study.
    pub fn begin_pass(&self, worker: usize) {
        if let Some(p) = self.state().pass.get_mut(worker) {
            *p += 1;
        }
    }

    /// Whether `study` still has a group no worker has claimed (false once stopped).
    pub fn unclaimed(&self, study: &str) -> bool {
        let state = self.state();
        !state.stopped && self.group_of.values().any(|(g, s)| s == study && !state.owner.contains_key(g))
    }

    /// Adds what a worker did in `study` to what the others did there.
    pub fn add_work(&self, study: &str, work: ShardWork) {
        let mut state = self.state();
        let done = state.done.entry(study.to_string()).or_default();
        done.trained.extend(work.trained);
        done.reused.extend(work.reused);
        done.left.extend(work.left);
    }

    /// What the workers did in `study`, each run once, in order.
    pub fn work(&self, study: &str) -> ShardWork {
        let mut work = self.state().done.get(study).cloned().unwrap_or_default();
        for list in [&mut work.trained, &mut work.reused, &mut work.left] {
            list.sort();
            list.dedup();
        }
        let performed: Vec<String> = work.trained.iter().chain(&work.reused).cloned().collect();
        work.left.retain(|id| !performed.contains(id));
        work
    }

    /// No group is claimed after this (a worker failed; the others finish their runs).
    pub fn stop(&self) {
        self.state().stopped = true;
    }

    /// Whether `worker` performs job `id` in its current pass: its group was claimed by this
    /// worker in this pass, or is unclaimed and given to it now by the rule in the type's
    /// docs. (A group it claimed in an earlier pass is done.)
    fn claim(&self, id: &str, worker: usize) -> bool {
        let Some((group, study)) = self.group_of.get(id) else { return false };
        let mut state = self.state();
        let pass = state.pass.get(worker).copied().unwrap_or(0);
        if let Some(&owner) = state.owner.get(group) {
            return owner == (worker, pass);
        }
        // At most one group per pass.
        if state.stopped || state.owner.values().any(|&o| o == (worker, pass)) {
            return false;
        }
        // The most expensive unclaimed group of this study, ties to the earliest.
        let best = self
            .group_of
            .values()
            .filter(|(g, s)| s == study && !state.owner.contains_key(g))
            .filter_map(|(g, _)| self.groups.get(g).map(|&(cost, first)| (*g, cost, first)))
            .min_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
        if best.is_some_and(|(g, _, _)| g == *group) {
            state.owner.insert(*group, (worker, pass));
            return true;
        }
        false
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
        let rates = crate::study::all::Rates {
            per_mac: 1e-9,
            per_step: 1e-3,
            per_xor_epoch: 1e-4,
            per_eval_mac: 1e-10,
            per_eval_batch: 1e-2,
        };
        let plan = Plan::of_all(&config).split(3).unwrap().timed(rates);
        assert_eq!(plan.shard_seconds.len(), 3);
        let mut expected = [0.0f64; 3];
        for j in &plan.jobs {
            if let Some(s) = j.shard {
                let w = j.work;
                expected[s] +=
                    w.macs * 1e-9 + w.steps * 1e-3 + w.xor_epochs * 1e-4 + w.eval_macs * 1e-10 + w.eval_batches * 1e-2;
            }
        }
        for (got, want) in plan.shard_seconds.iter().zip(expected) {
            assert!(want > 0.0 && (got - want).abs() <= 1e-9 * want, "{got} vs {want}");
        }
        assert!(plan.text().contains("expected wall time"));
    }

    #[test]
    fn workers_take_each_group_once_the_most_expensive_first() {
        let plan = Plan::of_all(&crate::study::all::AllConfig::default());
        let whole = Shard { index: 0, count: 1 };
        let workers = Arc::new(Workers::new(&plan, whole, 3).unwrap());
        assert_eq!(workers.study_order()[0], "learning-rate", "the lr-0.1 chain is the most expensive group");
        let base = plan.assignment(whole).unwrap();
        let worker: Vec<Assignment> = (0..3).map(|w| base.for_worker(workers.clone(), w)).collect();
        // Workers take turns passing over each study, as their threads would.
        let (mut owner, mut order) = (HashMap::new(), Vec::new());
        for study in workers.study_order().to_vec() {
            let mut w = 0;
            while workers.unclaimed(&study) {
                workers.begin_pass(w);
                for j in plan.jobs.iter().filter(|j| j.study == study) {
                    if worker[w].owns(&j.id) {
                        assert!(owner.insert(j.id.clone(), w).is_none(), "{} performed twice", j.id);
                        order.push(j.id.clone());
                    }
                }
                w = (w + 1) % 3;
            }
        }
        for j in &plan.jobs {
            assert_eq!(owner.contains_key(&j.id), j.reuses.is_none(), "{}", j.id);
            for need in j.needs.iter().filter(|_| j.reuses.is_none()) {
                assert_eq!(owner[need], owner[&j.id], "{} and {need} on different workers", j.id);
            }
        }
        assert_eq!(order[0], "learning-rate/runs/cnn4_lr0.1_seed0");
        let first_arch = order.iter().find(|id| id.starts_with("architectures/")).unwrap();
        assert_eq!(first_arch, "architectures/cnn4_seed0", "cnn4 is the most expensive architecture");
        // Once a worker failed, nothing more is claimed.
        let stopped = Arc::new(Workers::new(&plan, whole, 2).unwrap());
        assert!(stopped.unclaimed("architectures"));
        stopped.stop();
        assert!(!stopped.unclaimed("architectures"));
        stopped.begin_pass(0);
        assert!(!base.for_worker(stopped, 0).owns("architectures/cnn4_seed0"));
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
