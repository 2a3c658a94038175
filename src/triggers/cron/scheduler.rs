//! One task per cron job: sleep until the next fire time (computed from the schedule, so there
//! is no drift), then run the job's script subject to its `overlap` rule.

use super::invocation::{Firing, invocation};
use crate::config::Schedule;
use crate::config::{CatchUp, Overlap};
use crate::hub::Snapshot;
use crate::store::RunRecord;
use crate::triggers::background::Background;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Whether a job is running and which occurrences wait for it, by job name. Kept across reloads
/// so an edit of the manifest does not let a long run overlap its successor.
#[derive(Clone, Default)]
pub struct JobStates {
    jobs: Arc<Mutex<HashMap<String, JobState>>>,
}

#[derive(Default)]
struct JobState {
    running: usize,
    queued: VecDeque<DateTime<Utc>>,
}

impl JobStates {
    fn with<T>(&self, name: &str, f: impl FnOnce(&mut JobState) -> T) -> T {
        let mut jobs = self.jobs.lock();
        f(jobs.entry(name.to_string()).or_default())
    }
}

/// The scheduling tasks of one snapshot; dropping this stops them (runs in progress finish).
pub struct CronJobs {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for CronJobs {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl CronJobs {
    /// Starts every `[[cron]]` job of `snapshot` on the current runtime.
    pub fn start(snapshot: &Arc<Snapshot>, background: &Background, states: &JobStates) -> Self {
        let mut tasks = Vec::new();
        for index in 0..snapshot.manifest.crons.len() {
            let job = &snapshot.manifest.crons[index];
            let schedule = match Schedule::parse(&job.schedule, job.timezone.as_deref()) {
                Ok(schedule) => schedule,
                Err(err) => {
                    // `check` and reload validate schedules first; this is a last line of defence.
                    tracing::error!("cron job `{}` not started: {err}", job.name);
                    continue;
                }
            };
            let task = Job {
                snapshot: Arc::clone(snapshot),
                index,
                schedule,
                background: background.clone(),
                states: states.clone(),
            };
            tasks.push(tokio::spawn(task.run()));
        }
        Self { tasks }
    }
}

struct Job {
    snapshot: Arc<Snapshot>,
    index: usize,
    schedule: Schedule,
    background: Background,
    states: JobStates,
}

impl Job {
    fn name(&self) -> &str {
        &self.snapshot.manifest.crons[self.index].name
    }

    fn overlap(&self) -> Overlap {
        self.snapshot.manifest.crons[self.index].overlap
    }

    async fn run(self) {
        let job = Arc::new(self);
        let mut last = Utc::now();
        if job.snapshot.manifest.crons[job.index].catch_up == CatchUp::Once
            && let Some(missed) = job.missed_while_down(last).await
        {
            tracing::info!(
                "cron job `{}`: catching up the occurrence of {missed} missed while the hub was down",
                job.name()
            );
            Arc::clone(&job).fire(missed, true);
        }
        loop {
            let Some(next) = job.schedule.next_after(last) else {
                tracing::info!("cron job `{}` has no future occurrences", job.name());
                return;
            };
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            Arc::clone(&job).fire(next, false);
            last = next;
        }
    }

    /// The latest occurrence between the last recorded firing and `now`, if any.
    async fn missed_while_down(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let store = self.snapshot.capabilities.store.get().ok()?;
        let name = self.name().to_string();
        let last = tokio::task::spawn_blocking(move || store.cron_last(&name)).await.ok()?.ok()??;
        let mut cursor = last;
        let mut missed = None;
        while let Some(next) = self.schedule.next_after(cursor) {
            if next > now {
                break;
            }
            missed = Some(next);
            cursor = next;
        }
        missed
    }

    fn fire(self: Arc<Self>, scheduled: DateTime<Utc>, catch_up: bool) {
        let name = self.name().to_string();
        let overlap = self.overlap();
        let start = self.states.with(&name, |state| {
            if state.running > 0 && overlap == Overlap::Skip {
                return Err("skipped");
            }
            if state.running > 0 && overlap == Overlap::Queue {
                state.queued.push_back(scheduled);
                return Err("queued");
            }
            state.running += 1;
            Ok(())
        });
        match start {
            Err("skipped") => {
                self.record_skipped(scheduled);
                tracing::warn!(
                    "cron job `{name}`: skipped the occurrence of {scheduled}: the previous run is still going (overlap = \"skip\")"
                );
                return;
            }
            Err(_) => {
                tracing::info!("cron job `{name}`: occurrence of {scheduled} queued behind the run in progress");
                return;
            }
            Ok(()) => {}
        }
        tokio::spawn(async move {
            let mut next = Some((scheduled, catch_up));
            while let Some((scheduled, catch_up)) = next {
                self.run_once(scheduled, catch_up).await;
                next = self.states.with(self.name(), |state| match state.queued.pop_front() {
                    Some(queued) => Some((queued, false)),
                    None => {
                        state.running = state.running.saturating_sub(1);
                        None
                    }
                });
            }
        });
    }

    /// A skipped occurrence is a run log record too, so `runs list --status skipped` shows it.
    fn record_skipped(&self, scheduled: DateTime<Utc>) {
        let job = &self.snapshot.manifest.crons[self.index];
        let now = crate::timestamp::now();
        self.snapshot.capabilities.host.runlog.record(crate::runner::record::given(
            RunRecord {
                id: crate::runner::new_id(),
                script: job.script.clone(),
                trigger: "cron".into(),
                detail: job.name.clone(),
                started_at: now,
                duration_ms: 0.0,
                status: "skipped".into(),
                error: Some(format!(
                    "occurrence of {scheduled} skipped: the previous run is still going (overlap = \"skip\")"
                )),
                lines: Value::Array(Vec::new()),
                input: serde_json::to_value(&job.input.0).unwrap_or(Value::Null),
                event: serde_json::json!({ "kind": "cron", "name": job.name, "scheduled_at": scheduled.to_rfc3339() }),
                result: None,
                attempt: 1,
                retry_of: None,
            },
            &self.snapshot.capabilities.secrets,
        ));
    }

    async fn run_once(&self, scheduled: DateTime<Utc>, catch_up: bool) {
        let job = &self.snapshot.manifest.crons[self.index];
        let firing = if catch_up { Firing::CatchUp } else { Firing::Scheduled };
        let invocation = invocation(job, self.schedule.zone(), scheduled, firing);
        let trigger = format!("cron job `{}`", job.name);
        let policy = job.retry.unwrap_or_default();
        // Through the durable queue, a firing interrupted by a crash runs again at the next start.
        let item = crate::queue::item(&invocation, format!("cron {}", job.name), policy, job.on_error.clone());
        if let Err(err) = self.background.queue.run(item, (job.name.clone(), scheduled)).await {
            tracing::error!("{trigger}: could not queue the occurrence of {scheduled}: {err}");
        }
    }
}
