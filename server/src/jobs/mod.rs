//! Background work: the job queue ([`queue`]), what each job does ([`run`]), what comes
//! due with time ([`schedule`]), and the work itself (dependency scans, syncs, reports).

pub mod changes;
pub mod dependency_scan;
pub mod github_sync;
pub mod kinds;
pub mod queue;
pub mod run;
pub mod schedule;
pub mod tracking;
pub mod upgrades;
pub mod weekly_report;
