//! Which refresh job runs when: every job has its own interval (shorter while its data is on
//! screen), a timeout, and at most one request in flight; all jobs share a budget of requests in
//! flight. Due jobs whose data is on screen go first. Time is a parameter, so the rules are
//! tested with a fake clock.
//!
//! A job that hangs holds only its own slot until its timeout ([`Scheduler::expire`]); the
//! others keep their schedule. Intervals count from the end of a job's last run, so a slow
//! answer never makes a job run back to back.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::app::action::JobKey;

/// Identifies one run of a job; an answer from an earlier run (timed out or cancelled) is
/// recognised and dropped.
pub type RunId = u64;

/// How often a job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Every {
    /// While its data is on screen.
    pub visible: Duration,
    /// Otherwise; None: only while on screen.
    pub background: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobSpec {
    pub every: Every,
    /// A run still in flight after this long has failed; its slot is freed.
    pub timeout: Duration,
}

#[derive(Clone, Debug)]
struct Job {
    spec: JobSpec,
    visible: bool,
    /// When the last run ended (answered, failed or timed out).
    last_done: Option<Instant>,
    /// None: not scheduled (a background job with no background interval).
    next_due: Option<Instant>,
    running: Option<(RunId, Instant)>,
}

impl Job {
    fn interval(&self) -> Option<Duration> {
        if self.visible {
            Some(self.spec.every.visible)
        } else {
            self.spec.every.background
        }
    }

    /// The next due time from the last run and the current interval.
    fn reschedule(&mut self, now: Instant) {
        self.next_due = match (self.interval(), self.last_done) {
            (None, _) => None,
            (Some(_), None) => Some(now),
            (Some(i), Some(done)) => Some(done + i),
        };
    }
}

pub struct Scheduler {
    jobs: BTreeMap<JobKey, Job>,
    budget: usize,
    next_run: RunId,
}

impl Scheduler {
    /// At most `budget` requests in flight at once (at least one).
    pub fn new(budget: usize) -> Scheduler {
        Scheduler {
            jobs: BTreeMap::new(),
            budget: budget.max(1),
            next_run: 0,
        }
    }

    /// Adds `key` (due at once, in the background until [`Self::set_visible`] says otherwise)
    /// or updates its spec.
    pub fn ensure(&mut self, key: JobKey, spec: JobSpec, now: Instant) {
        match self.jobs.get_mut(&key) {
            Some(job) if job.spec != spec => {
                job.spec = spec;
                job.reschedule(now);
            }
            Some(_) => {}
            None => {
                let mut job = Job {
                    spec,
                    visible: false,
                    last_done: None,
                    next_due: None,
                    running: None,
                };
                job.reschedule(now);
                self.jobs.insert(key, job);
            }
        }
    }

    /// Removes `key`. Returns None when there was no such job, else the run in flight (to
    /// cancel), if any.
    pub fn remove(&mut self, key: &JobKey) -> Option<Option<RunId>> {
        self.jobs.remove(key).map(|j| j.running.map(|(id, _)| id))
    }

    pub fn contains(&self, key: &JobKey) -> bool {
        self.jobs.contains_key(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &JobKey> {
        self.jobs.keys()
    }

    /// Marks which jobs' data is on screen; their schedule follows their new interval.
    pub fn set_visible(&mut self, visible: impl Fn(&JobKey) -> bool, now: Instant) {
        for (key, job) in &mut self.jobs {
            let v = visible(key);
            if job.visible != v {
                job.visible = v;
                if job.running.is_none() {
                    job.reschedule(now);
                }
            }
        }
    }

    /// Makes every visible job due now (the user asked for a refresh). Returns them, running
    /// ones included: the refresh is over when all of them have answered.
    pub fn force_visible(&mut self, now: Instant) -> Vec<JobKey> {
        let mut out = Vec::new();
        for (key, job) in &mut self.jobs {
            if job.visible {
                if job.running.is_none() {
                    job.next_due = Some(now);
                }
                out.push(key.clone());
            }
        }
        out
    }

    pub fn in_flight(&self) -> usize {
        self.jobs.values().filter(|j| j.running.is_some()).count()
    }

    /// Starts the due jobs the budget allows, visible ones first, then the longest overdue,
    /// then in key order (the first chunk of a dataset before the next).
    pub fn start(&mut self, now: Instant) -> Vec<(JobKey, RunId)> {
        let free = self.budget.saturating_sub(self.in_flight());
        if free == 0 {
            return Vec::new();
        }
        let mut due: Vec<(bool, Instant, &JobKey)> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.running.is_none())
            .filter_map(|(k, j)| j.next_due.filter(|d| *d <= now).map(|d| (!j.visible, d, k)))
            .collect();
        due.sort();
        let keys: Vec<JobKey> = due.into_iter().take(free).map(|(_, _, k)| k.clone()).collect();
        keys.into_iter()
            .map(|key| {
                self.next_run += 1;
                let id = self.next_run;
                if let Some(job) = self.jobs.get_mut(&key) {
                    job.running = Some((id, now + job.spec.timeout));
                    job.next_due = None;
                }
                (key, id)
            })
            .collect()
    }

    /// Records the end of run `id` of `key`. False when that run is not the one in flight (it
    /// timed out or the job was removed): its answer must be dropped.
    pub fn finish(&mut self, key: &JobKey, id: RunId, now: Instant) -> bool {
        let Some(job) = self.jobs.get_mut(key) else {
            return false;
        };
        if job.running.map(|(r, _)| r) != Some(id) {
            return false;
        }
        job.running = None;
        job.last_done = Some(now);
        job.reschedule(now);
        true
    }

    /// Ends the runs in flight past their timeout and returns them (to cancel and report).
    pub fn expire(&mut self, now: Instant) -> Vec<(JobKey, RunId)> {
        let mut out = Vec::new();
        for (key, job) in &mut self.jobs {
            if let Some((id, deadline)) = job.running {
                if deadline <= now {
                    job.running = None;
                    job.last_done = Some(now);
                    job.reschedule(now);
                    out.push((key.clone(), id));
                }
            }
        }
        out
    }

    /// When something next needs doing: a deadline, or a due job when the budget has room.
    pub fn next_wake(&self) -> Option<Instant> {
        let room = self.in_flight() < self.budget;
        self.jobs
            .values()
            .filter_map(|j| match j.running {
                Some((_, deadline)) => Some(deadline),
                None if room => j.next_due,
                None => None,
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn spec(visible: u64, background: Option<u64>, timeout: u64) -> JobSpec {
        JobSpec {
            every: Every {
                visible: S * visible as u32,
                background: background.map(|b| S * b as u32),
            },
            timeout: S * timeout as u32,
        }
    }

    fn keys(started: &[(JobKey, RunId)]) -> Vec<JobKey> {
        started.iter().map(|(k, _)| k.clone()).collect()
    }

    #[test]
    fn a_hanging_job_does_not_delay_the_others() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(4);
        s.ensure(JobKey::Retention(0), spec(10, Some(10), 5), t0);
        s.ensure(JobKey::HighWatermarks(0), spec(2, Some(2), 5), t0);
        s.set_visible(|_| true, t0);
        let first = s.start(t0);
        assert_eq!(keys(&first), [JobKey::HighWatermarks(0), JobKey::Retention(0)]);
        // Retention never answers. Watermarks answer quickly, every 2 s, for 20 s.
        let hw_run = |started: &[(JobKey, RunId)]| {
            started
                .iter()
                .find(|(k, _)| *k == JobKey::HighWatermarks(0))
                .map(|(_, id)| *id)
        };
        let mut run = hw_run(&first).unwrap();
        let mut hw_started = Some(t0);
        let mut hw_starts = vec![t0];
        let mut retention_expired = Vec::new();
        for tick in 1..=200u32 {
            let now = t0 + Duration::from_millis(100) * tick;
            // 100 ms after each start, the watermarks answer.
            if hw_started.is_some_and(|at| at + Duration::from_millis(100) == now) {
                assert!(s.finish(&JobKey::HighWatermarks(0), run, now));
                hw_started = None;
            }
            retention_expired.extend(s.expire(now).into_iter().map(|(k, _)| (k, now)));
            // The retention job restarts after its interval and hangs again: never answered.
            if let Some(id) = hw_run(&s.start(now)) {
                run = id;
                hw_started = Some(now);
                hw_starts.push(now);
            }
        }
        let gaps: Vec<Duration> = hw_starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.len() >= 9, "watermarks kept running: {hw_starts:?}");
        assert!(
            gaps.iter().all(|g| *g == Duration::from_millis(2100)),
            "every 2 s after the previous answer: {gaps:?}"
        );
        // The hung job times out after 5 s and is retried after its interval, not sooner.
        assert_eq!(
            retention_expired,
            [(JobKey::Retention(0), t0 + S * 5), (JobKey::Retention(0), t0 + S * 20)]
        );
    }

    #[test]
    fn the_budget_holds_and_visible_jobs_go_first() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(2);
        for i in 0..4 {
            s.ensure(JobKey::HighWatermarks(i), spec(2, Some(10), 5), t0);
        }
        s.ensure(JobKey::Groups, spec(2, Some(10), 5), t0);
        s.set_visible(|k| *k == JobKey::Groups || *k == JobKey::HighWatermarks(3), t0);
        let started = s.start(t0);
        assert_eq!(keys(&started), [JobKey::HighWatermarks(3), JobKey::Groups]);
        assert!(s.start(t0).is_empty(), "budget of 2 in flight");
        assert_eq!(s.in_flight(), 2);
        assert_eq!(
            s.next_wake(),
            Some(t0 + S * 5),
            "only deadlines while the budget is full"
        );
        assert!(s.finish(&started[0].0, started[0].1, t0 + S));
        // One slot free: the next background chunk, in key order.
        assert_eq!(keys(&s.start(t0 + S)), [JobKey::HighWatermarks(0)]);
        assert!(s.in_flight() <= 2);
    }

    #[test]
    fn background_intervals_apply_off_screen_and_none_means_only_on_screen() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(8);
        s.ensure(JobKey::Groups, spec(2, Some(10), 5), t0);
        s.ensure(JobKey::TopicConfigs("t".into()), spec(2, None, 5), t0);
        let started = s.start(t0);
        assert_eq!(
            keys(&started),
            [JobKey::Groups],
            "configs are fetched only while visible"
        );
        assert!(s.finish(&JobKey::Groups, started[0].1, t0));
        assert_eq!(s.next_wake(), Some(t0 + S * 10));
        // Brought on screen: the visible interval counts from the last answer.
        s.set_visible(|_| true, t0 + S);
        assert_eq!(s.next_wake(), Some(t0 + S), "configs are due at once");
        let started = s.start(t0 + S);
        assert_eq!(keys(&started), [JobKey::TopicConfigs("t".into())]);
        assert_eq!(keys(&s.start(t0 + S * 2)), [JobKey::Groups]);
    }

    #[test]
    fn late_answers_of_expired_or_removed_runs_are_refused() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(4);
        s.ensure(JobKey::Metadata, spec(2, Some(2), 5), t0);
        s.ensure(JobKey::TopicConfigs("a".into()), spec(2, Some(2), 5), t0);
        let started = s.start(t0);
        let (meta_run, configs_run) = (started[0].1, started[1].1);
        assert_eq!(s.expire(t0 + S * 5).len(), 2);
        assert!(!s.finish(&JobKey::Metadata, meta_run, t0 + S * 6), "timed out: dropped");
        let again = s.start(t0 + S * 7);
        assert_eq!(keys(&again), [JobKey::Metadata, JobKey::TopicConfigs("a".into())]);
        assert_eq!(s.remove(&JobKey::TopicConfigs("a".into())), Some(Some(again[1].1)));
        assert!(!s.finish(&JobKey::TopicConfigs("a".into()), configs_run, t0 + S * 8));
        assert!(s.finish(&JobKey::Metadata, again[0].1, t0 + S * 8));
    }

    #[test]
    fn a_forced_refresh_makes_visible_jobs_due_now() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(4);
        s.ensure(JobKey::Metadata, spec(2, Some(2), 5), t0);
        s.ensure(JobKey::Retention(0), spec(30, Some(60), 5), t0);
        s.ensure(JobKey::Groups, spec(2, Some(10), 5), t0);
        s.set_visible(|k| *k != JobKey::Groups, t0);
        for (k, id) in s.start(t0) {
            assert!(s.finish(&k, id, t0));
        }
        let t1 = t0 + S;
        assert!(s.start(t1).is_empty());
        let forced = s.force_visible(t1);
        assert_eq!(forced, [JobKey::Metadata, JobKey::Retention(0)]);
        assert_eq!(keys(&s.start(t1)), forced);
    }
}
